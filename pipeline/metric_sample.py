"""The one shape every derived metric takes: metric filters and EMF both produce MetricSample.

Units are CloudWatch's ``StandardUnit`` names so that a sample means what it
would mean in CloudWatch; the Prometheus exporter converts them to base units
once, at the edge (see ``prometheus_unit``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "STANDARD_UNITS",
    "MetricSample",
    "PrometheusUnit",
    "prometheus_unit",
]


# Read-only by convention, not frozen: built once per event, and a frozen dataclass's
# generated __init__ costs ~1 us where this one costs ~0.07 us compiled (bench core).
@dataclass(slots=True, init=False)
class MetricSample:
    """One datapoint, as CloudWatch would receive it (dimension values are strings)."""

    namespace: str
    name: str
    dimensions: Mapping[str, str]
    value: float
    unit: str
    timestamp: int  # epoch milliseconds

    def __init__(
        self,
        namespace: str,
        name: str,
        dimensions: Mapping[str, str],
        value: float,
        unit: str,
        timestamp: int,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.dimensions = dimensions
        self.value = value
        self.unit = unit
        self.timestamp = timestamp


class PrometheusUnit(NamedTuple):
    """How a CloudWatch unit is written in Prometheus: name suffix and factor to the base unit."""

    suffix: str
    factor: float


_KIB = 1024.0
_BYTES = {"Bytes": 1.0, "Kilobytes": _KIB, "Megabytes": _KIB**2, "Gigabytes": _KIB**3}
_BYTES["Terabytes"] = _KIB**4
_BITS = {"Bits": 1.0, "Kilobits": _KIB, "Megabits": _KIB**2, "Gigabits": _KIB**3}
_BITS["Terabits"] = _KIB**4

# Prometheus wants base units (seconds, bytes, ratios) in the name, so a dashboard never guesses
# whether a number is in ms or MB. Binary multiples, as Lambda's "MB" means MiB.
_UNITS: dict[str, PrometheusUnit] = {
    "Seconds": PrometheusUnit("seconds", 1.0),
    "Milliseconds": PrometheusUnit("seconds", 1e-3),
    "Microseconds": PrometheusUnit("seconds", 1e-6),
    "Percent": PrometheusUnit("ratio", 0.01),
    "Count": PrometheusUnit("", 1.0),
    "None": PrometheusUnit("", 1.0),
    "Count/Second": PrometheusUnit("per_second", 1.0),
}
for _unit, _factor in _BYTES.items():
    _UNITS[_unit] = PrometheusUnit("bytes", _factor)
    _UNITS[f"{_unit}/Second"] = PrometheusUnit("bytes_per_second", _factor)
for _unit, _factor in _BITS.items():
    _UNITS[_unit] = PrometheusUnit("bytes", _factor / 8)
    _UNITS[f"{_unit}/Second"] = PrometheusUnit("bytes_per_second", _factor / 8)

STANDARD_UNITS: frozenset[str] = frozenset(_UNITS)


def prometheus_unit(unit: str) -> PrometheusUnit:
    """The Prometheus suffix and factor for a CloudWatch StandardUnit (unknown units pass as-is)."""
    return _UNITS.get(unit, PrometheusUnit("", 1.0))
