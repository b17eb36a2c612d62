"""Every metric a log batch yields: Lambda invocation metrics, EMF samples, metric filters.

Each message is parsed once (:class:`ParsedMessage`) however many of these
stages look at it. The deriver keeps the little state counting needs (which
requests already timed out, which filters watch which log group).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import PipelineConfig
from pipeline.emf import parse_emf
from pipeline.invocations import InvocationSample, InvocationTracker
from pipeline.lambda_platform import (
    FunctionRef,
    PlatformEvent,
    function_from_log,
    parse_platform_line,
)
from pipeline.metric_filters import MetricFilter
from pipeline.metric_sample import MetricSample
from pipeline.patterns.message import ParsedMessage
from pipeline.payload import LogBatch
from pipeline.routing import Route

__all__ = ["BatchContext", "DerivedMetrics", "MetricsDeriver"]

_MAX_CACHED_GROUPS = 10_000


@dataclass(slots=True)
class DerivedMetrics:
    samples: list[MetricSample] = field(default_factory=list)  # EMF and metric filters
    invocations: list[InvocationSample] = field(default_factory=list)
    emf_invalid: list[str] = field(default_factory=list)  # the reason of each invalid document

    def extend(self, other: DerivedMetrics) -> None:
        self.samples += other.samples
        self.invocations += other.invocations
        self.emf_invalid += other.emf_invalid


class MetricsDeriver:
    def __init__(self, config: PipelineConfig) -> None:
        self.config = config
        settings = config.lambda_
        self.tracker = (
            InvocationTracker(
                settings.prices, settings.architectures, settings.default_architecture
            )
            if settings.enabled
            else None
        )
        self._filters_of: dict[str, tuple[MetricFilter, ...]] = {}

    def filters_for(self, log_group: str, route: Route | None = None) -> tuple[MetricFilter, ...]:
        """The global filters watching ``log_group``, then the route's own."""
        found = self._filters_of.get(log_group)
        if found is None:
            found = tuple(f for f in self.config.metric_filters if f.applies_to(log_group))
            if len(self._filters_of) < _MAX_CACHED_GROUPS:
                self._filters_of[log_group] = found
        if route is not None and route.metric_filters:
            found += tuple(f for f in route.metric_filters if f.applies_to(log_group))
        return found

    def context(self, batch: LogBatch, route: Route | None = None) -> BatchContext:
        """What every event of ``batch`` shares: its function, filters and system fields."""
        system_fields = {"@aws.account": batch.owner}
        if self.config.aws_region:
            system_fields["@aws.region"] = self.config.aws_region
        function = function_from_log(batch.log_group, batch.log_stream)
        return BatchContext(
            batch.log_stream,
            function if self.tracker is not None else None,
            self.filters_for(batch.log_group, route),
            system_fields,
        )

    def observe(
        self, out: DerivedMetrics, context: BatchContext, view: ParsedMessage, timestamp: int
    ) -> PlatformEvent | None:
        """Add one event's metrics to ``out``; returns its platform event for the caller's use."""
        platform = None
        if context.function is not None and self.tracker is not None:
            platform = parse_platform_line(view)
            if platform is not None:
                out.invocations += self.tracker.observe(
                    context.function, context.log_stream, platform
                )
        emf = parse_emf(view)
        if emf is not None:
            if emf.invalid_reason is None:
                out.samples += emf.samples
            else:
                out.emf_invalid.append(emf.invalid_reason)
        for metric_filter in context.filters:
            out.samples += metric_filter.evaluate(
                view, timestamp, system_fields=context.system_fields
            )
        return platform

    def derive(self, batch: LogBatch) -> DerivedMetrics:
        """The metrics of one DATA_MESSAGE batch (control messages yield none)."""
        out = DerivedMetrics()
        if batch.is_control:
            return out
        context = self.context(batch)
        for event in batch.events:
            self.observe(out, context, ParsedMessage(event.message), event.timestamp)
        return out


@dataclass(frozen=True, slots=True)
class BatchContext:
    log_stream: str
    function: FunctionRef | None  # None: not a Lambda log, or Lambda metrics are off
    filters: tuple[MetricFilter, ...]
    system_fields: dict[str, str]
