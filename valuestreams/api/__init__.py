"""The valuestreams app's REST API: value streams, trains (solution trains and ARTs) and teams."""
