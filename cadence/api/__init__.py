"""The cadence app's REST API: cadences, PIs, iterations and cadence events."""
