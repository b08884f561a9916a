"""The integration app's REST API: integration points, their check runs and results."""
