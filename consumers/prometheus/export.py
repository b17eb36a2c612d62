"""The Prometheus side of derived metrics: aggregates samples and exposes them to a registry.

One Prometheus metric per CloudWatch (namespace, metric name), labelled by its
dimension keys. CloudWatch's Sum and SampleCount become a summary's ``_sum``
and ``_count`` (a histogram when the metric filter asks for buckets). Lambda
invocation metrics are histograms, counters and a gauge labelled by function.

Label sets are capped per metric: a sample that would open one more series
than ``max_label_sets`` is dropped and counted in
``cwlpipe_metric_samples_dropped_total``, so one noisy dimension cannot take a
Prometheus server down.

Series are kept by their CloudWatch dimension keys; labels are given per
metric when a key is first seen, unique within that metric. Keys that
sanitise to one label (``a-b`` and ``a_b``) keep their own series: the first
seen gets ``a_b``, the next ``a_b_2`` (keys of one sample are taken in sorted
order, so the same samples always give the same labels, and a key keeps its
label for the life of the process). Derived names never enter the daemon's
``cwlpipe_`` namespace (see :mod:`consumers.prometheus.names`).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from consumers.config.service import ServiceConfig
from consumers.prometheus.names import label_name, metric_name, unique_label
from pipeline.derived_metrics import DerivedMetrics
from pipeline.invocations import LAMBDA_METRICS, InvocationSample
from pipeline.metric_sample import MetricSample, prometheus_unit
from pipeline.traces.processor import TRACE_COUNTERS
from pipeline.traces.service_map import EdgeSample

__all__ = ["EDGE_BUCKETS", "EDGE_PREFIX", "LAMBDA_PREFIX", "DerivedMetricsExporter", "exporter_for"]

LAMBDA_PREFIX = "cwlpipe_lambda_"
EDGE_PREFIX = "cwlpipe_xray_edge_"
#: seconds; the X-Ray console's response-time distribution spans milliseconds to tens of seconds
EDGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
EDGE_HELP = {
    "requests": "calls from client to server (X-Ray TotalCount)",
    "ok": "calls that completed without error (X-Ray OkCount)",
    "error": "calls that failed with a client error, 4xx other than 429 (ErrorStatistics)",
    "throttle": "calls throttled, 429 (ErrorStatistics.ThrottleCount)",
    "fault": "calls that failed with a server error, 5xx (FaultStatistics)",
}
Kind = Literal["summary", "histogram", "counter", "gauge"]
Dimensions = tuple[tuple[str, str], ...]  # (dimension key, value), sorted by key


@dataclass(slots=True)
class _Series:
    count: float = 0.0
    total: float = 0.0
    last: float = 0.0
    buckets: list[float] = field(default_factory=list)  # per bucket, not cumulative


@dataclass(slots=True)
class _Family:
    name: str
    kind: Kind
    help: str
    buckets: tuple[float, ...] = ()
    label_of: dict[str, str] = field(default_factory=dict)  # dimension key -> its label
    labels_taken: set[str] = field(default_factory=set)
    series: dict[Dimensions, _Series] = field(default_factory=dict)

    def observe(self, dimensions: Dimensions, value: float, cap: int) -> bool:
        """Add one value; False when it would open a series beyond the cap."""
        series = self.series.get(dimensions)
        if series is None:
            if len(self.series) >= cap:
                return False
            series = self.series[dimensions] = _Series(buckets=[0.0] * len(self.buckets))
            for key, _ in dimensions:
                if key not in self.label_of:
                    label = unique_label(label_name(key), self.labels_taken)
                    self.label_of[key] = label
                    self.labels_taken.add(label)
        series.count += 1
        series.total += value
        series.last = value
        if self.buckets:
            index = bisect_left(self.buckets, value)
            if index < len(series.buckets):
                series.buckets[index] += 1
        return True

    def metric(self) -> Metric:
        names = list(self.label_of.values())
        family: Metric
        if self.kind == "summary":
            family = SummaryMetricFamily(self.name, self.help, labels=names)
        elif self.kind == "histogram":
            family = HistogramMetricFamily(self.name, self.help, labels=names)
        elif self.kind == "counter":
            family = CounterMetricFamily(self.name, self.help, labels=names)
        else:
            family = GaugeMetricFamily(self.name, self.help, labels=names)
        for dimensions, series in self.series.items():
            given = {self.label_of[key]: value for key, value in dimensions}
            values = [given.get(name, "") for name in names]
            if isinstance(family, SummaryMetricFamily):
                family.add_metric(values, int(series.count), series.total)
            elif isinstance(family, HistogramMetricFamily):
                cumulative, points = 0.0, []
                for bound, count in zip(self.buckets, series.buckets, strict=True):
                    cumulative += count
                    points.append((_go_float(bound), cumulative))
                points.append(("+Inf", series.count))
                family.add_metric(values, points, series.total)
            elif isinstance(family, CounterMetricFamily):
                family.add_metric(values, series.total)
            else:
                family.add_metric(values, series.last)
        return family


class DerivedMetricsExporter(Collector):
    """Register with a ``CollectorRegistry``; feed it with ``observe_*`` from the pipeline."""

    def __init__(
        self,
        max_label_sets: int = 1000,
        histogram_buckets: Mapping[tuple[str, str], tuple[float, ...]] | None = None,
    ) -> None:
        self._cap = max_label_sets
        self._histograms = dict(histogram_buckets or {})
        self._families: dict[str, _Family] = {}
        # per sample key, what observing it needs, worked out once: the per-sample work runs
        # in the processing thread for every event (issue 9)
        self._of_sample: dict[tuple[str, str, str], tuple[_Family, float]] = {}
        self._of_invocation: dict[str, _Family] = {}
        self._dropped: dict[str, int] = {}
        self._emf_invalid = 0
        self._traces: dict[str, int] = {}
        self._lock = threading.Lock()  # the HTTP server collects from its own thread

    def observe(self, derived: DerivedMetrics) -> None:
        """Everything one batch (or record) yielded."""
        self.observe_samples(derived.samples)
        self.observe_invocations(derived.invocations)
        self.count_invalid_emf(len(derived.emf_invalid))
        if derived.edges:
            self.observe_edges(derived.edges)
        if derived.traces:
            self.count_traces(derived.traces)

    def observe_edges(self, samples: Iterable[EdgeSample]) -> None:
        """X-Ray's edge statistics: every call counts in requests and in its outcome's
        counter, and its response time in the histogram (the console's service map)."""
        with self._lock:
            for sample in samples:
                dimensions: Dimensions = (
                    ("client", sample.client),
                    ("server", sample.server),
                    ("server_type", sample.server_type),
                )
                for name in ("requests", sample.outcome):
                    self._observe(self._edge_family(name), dimensions, 1.0)
                self._observe(self._edge_family("response_time"), dimensions, sample.seconds)

    def _edge_family(self, name: str) -> _Family:
        full = EDGE_PREFIX + name
        family = self._families.get(full)
        if family is None:
            if name == "response_time":
                family = _Family(
                    full + "_seconds",
                    "histogram",
                    "X-Ray edge: the client's response time",
                    EDGE_BUCKETS,
                )
            else:
                family = _Family(full, "counter", f"X-Ray edge: {EDGE_HELP[name]}")
            self._families[full] = family
        return family

    def count_traces(self, counts: Mapping[str, int]) -> None:
        with self._lock:
            for key, count in counts.items():
                self._traces[key] = self._traces.get(key, 0) + count

    def observe_samples(self, samples: Iterable[MetricSample]) -> None:
        with self._lock:
            known = self._of_sample
            for sample in samples:
                key = (sample.namespace, sample.name, sample.unit)
                found = known.get(key)
                if found is None:
                    found = known[key] = self._sample_family(*key)
                family, factor = found
                items = sample.dimensions.items()
                dimensions = tuple(sorted(items)) if len(items) > 1 else tuple(items)
                self._observe(family, dimensions, sample.value * factor)

    def _sample_family(self, namespace: str, metric: str, unit: str) -> tuple[_Family, float]:
        name = metric_name(namespace, metric, unit)
        family = self._families.get(name)
        if family is None:
            buckets = self._histograms.get((namespace, metric))
            family = self._families[name] = _Family(
                name,
                "histogram" if buckets else "summary",
                f"CloudWatch metric {namespace} {metric} ({unit})",
                buckets or (),
            )
        return family, prometheus_unit(unit).factor

    def observe_invocations(self, samples: Iterable[InvocationSample]) -> None:
        with self._lock:
            known = self._of_invocation
            for sample in samples:
                family = known.get(sample.metric)
                if family is None:
                    family = known[sample.metric] = self._invocation_family(sample.metric)
                dimensions: Dimensions = (
                    (("function", sample.function),)
                    if sample.error_type is None
                    else (("error_type", sample.error_type), ("function", sample.function))
                )
                self._observe(family, dimensions, sample.value)

    def _invocation_family(self, metric: str) -> _Family:
        name = LAMBDA_PREFIX + metric
        family = self._families.get(name)
        if family is None:
            spec = LAMBDA_METRICS[metric]
            kind: Kind = spec.kind
            family = self._families[name] = _Family(
                name.removesuffix("_total") if kind == "counter" else name,
                kind,
                f"Lambda: {spec.help}",
                spec.buckets,
            )
        return family

    def count_invalid_emf(self, count: int) -> None:
        with self._lock:
            self._emf_invalid += count

    def dropped(self) -> dict[str, int]:
        """Samples dropped by the label-set cap, by metric name."""
        with self._lock:
            return dict(self._dropped)

    def _observe(self, family: _Family, dimensions: Dimensions, value: float) -> None:
        if not family.observe(dimensions, value, self._cap):
            self._dropped[family.name] = self._dropped.get(family.name, 0) + 1

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            metrics = [family.metric() for family in self._families.values()]
            dropped = CounterMetricFamily(
                "cwlpipe_metric_samples_dropped",
                "Derived samples dropped because their metric reached its label-set cap",
                labels=["metric"],
            )
            for name, count in sorted(self._dropped.items()):
                dropped.add_metric([name], count)
            invalid = CounterMetricFamily(
                "cwlpipe_emf_invalid",
                "Embedded Metric Format documents that broke the specification (kept as logs)",
                value=self._emf_invalid,
            )
            traces = [
                CounterMetricFamily(
                    f"cwlpipe_trace_{key}", f"Traces: {help}", value=self._traces.get(key, 0)
                )
                for key, help in TRACE_COUNTERS.items()
            ]
        yield from metrics
        yield dropped
        yield invalid
        yield from traces


def exporter_for(config: ServiceConfig) -> DerivedMetricsExporter:
    filters = [*config.core.metric_filters]
    for route in config.router().all_routes:
        filters += route.metric_filters
    buckets = {
        (f.definition.metric_namespace, f.definition.metric_name): f.definition.histogram_buckets
        for f in filters
        if f.definition.histogram_buckets
    }
    return DerivedMetricsExporter(config.metrics.max_label_sets, buckets)


def _go_float(value: float) -> str:
    """A bucket bound as Prometheus' Go client writes it (typed wrapper)."""
    text: str = floatToGoString(value)  # type: ignore[no-untyped-call]
    return text
