"""CloudWatch names to Prometheus names: ``ServerlessAirline`` / ``Latency`` (Milliseconds)
becomes ``serverless_airline_latency_seconds``; dimension keys become snake_case labels.
"""

from __future__ import annotations

import re

from pipeline.metric_sample import prometheus_unit

__all__ = ["label_name", "metric_name", "snake_case"]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9]+")
_RESERVED_LABELS = frozenset({"le", "quantile"})


def snake_case(text: str) -> str:
    """``HTTPErrorCount`` -> ``http_error_count``; anything but letters and digits -> ``_``."""
    words = _CAMEL_BOUNDARY.sub("_", text)
    return _NOT_NAME.sub("_", words).strip("_").lower()


def metric_name(namespace: str, name: str, unit: str) -> str:
    """The Prometheus name of a CloudWatch metric, with its base unit as the suffix."""
    suffix = prometheus_unit(unit).suffix
    parts = [snake_case(namespace), snake_case(name)]
    base = "_".join(part for part in parts if part) or "metric"
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    return base if not base[0].isdigit() else f"cw_{base}"


def label_name(dimension: str) -> str:
    """A dimension key as a label name (``@aws.region`` -> ``aws_region``)."""
    label = snake_case(dimension) or "dimension"
    if label[0].isdigit() or label in _RESERVED_LABELS:
        label = f"dimension_{label}"
    return label
