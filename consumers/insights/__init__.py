"""Logs Insights queries on the store: the executor and the output formats."""
