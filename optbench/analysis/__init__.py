"""Pure functions from stored runs and traces to tables and figures."""
