"""Use cases: what an HTTP request, activity, timer or queue message asks the service to do."""
