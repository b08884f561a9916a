"""The valuestreams app's REST API: value streams, trains (solution trains and ARTs),
teams, train status reports, dependencies with their workflow, and the dependency map."""
