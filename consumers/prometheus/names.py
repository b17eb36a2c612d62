"""CloudWatch names to Prometheus names: ``ServerlessAirline`` / ``Latency`` (Milliseconds)
becomes ``serverless_airline_latency_seconds``; dimension keys become snake_case labels.

The ``cwlpipe_`` prefix belongs to the daemon's own metrics (health, Lambda
invocation metrics, the exporter's counters). A derived name that would start
with it (an EMF namespace or a metric filter's ``cwlpipe``) is moved out with
the ``cw_`` prefix a name starting with a digit gets: ``cw_cwlpipe_lag_seconds``.
Renaming rather than dropping keeps the user's data, and the two can never
share a name, which would give the scrape two HELP/TYPE blocks for one metric.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from pipeline.metric_sample import prometheus_unit

__all__ = ["RESERVED_PREFIX", "label_name", "metric_name", "snake_case", "unique_label"]

RESERVED_PREFIX = "cwlpipe_"  # the daemon's own metrics; see the module docstring

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9]+")
_RESERVED_LABELS = frozenset({"le", "quantile"})


def snake_case(text: str) -> str:
    """``HTTPErrorCount`` -> ``http_error_count``; anything but letters and digits -> ``_``."""
    words = _CAMEL_BOUNDARY.sub("_", text)
    return _NOT_NAME.sub("_", words).strip("_").lower()


# The exporter names every sample of every batch; the names of an account are few, so each
# is built once (two regex passes each otherwise: ~0.75 us per event, bench daemon).
@lru_cache(maxsize=4096)
def metric_name(namespace: str, name: str, unit: str) -> str:
    """The Prometheus name of a CloudWatch metric, with its base unit as the suffix."""
    suffix = prometheus_unit(unit).suffix
    parts = [snake_case(namespace), snake_case(name)]
    base = "_".join(part for part in parts if part) or "metric"
    if suffix and not base.endswith(f"_{suffix}"):
        base = f"{base}_{suffix}"
    if base[0].isdigit() or base.startswith(RESERVED_PREFIX):
        return f"cw_{base}"
    return base


@lru_cache(maxsize=4096)
def label_name(dimension: str) -> str:
    """A dimension key as a label name (``@aws.region`` -> ``aws_region``)."""
    label = snake_case(dimension) or "dimension"
    if label[0].isdigit() or label in _RESERVED_LABELS:
        label = f"dimension_{label}"
    return label


def unique_label(label: str, taken: Collection[str]) -> str:
    """``label``, or ``label_2``, ``label_3``... when a metric already uses it for another key.

    Dimension keys ``a-b`` and ``a_b`` both become ``a_b``; CloudWatch keeps
    them apart, so each gets a label of its own instead of one overwriting the other.
    """
    if label not in taken:
        return label
    number = 2
    while f"{label}_{number}" in taken:
        number += 1
    return f"{label}_{number}"
