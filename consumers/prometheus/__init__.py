"""Prometheus: health metrics, the export of derived metrics, the /metrics server."""
