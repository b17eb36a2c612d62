"""Health metrics, named after the Lambda metrics operators already read.

One registry per daemon holds these and the derived-metrics collector; the
``/metrics`` endpoint (:mod:`consumers.prometheus.server`) serves it.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from consumers.prometheus.export import DerivedMetricsExporter

__all__ = ["HealthMetrics"]

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class HealthMetrics:
    """One registry per daemon: health metrics plus the derived-metrics collector."""

    def __init__(self, derived: DerivedMetricsExporter) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.derived = derived
        self.registry.register(derived)
        r = self.registry
        self.records_in = Counter(
            "cwlpipe_records_in", "Kafka records consumed (Invocations)", registry=r
        )
        self.batches = Counter("cwlpipe_batches", "Consumer batches processed", registry=r)
        self.control_messages = Counter(
            "cwlpipe_control_messages", "CONTROL_MESSAGE batches skipped", registry=r
        )
        self.events_in = Counter("cwlpipe_events_in", "Log events decoded", registry=r)
        self.indexed = Counter(
            "cwlpipe_events_indexed", "Documents acknowledged by OpenSearch", registry=r
        )
        self.filtered_out = Counter(
            "cwlpipe_events_filtered_out",
            "Events dropped by their route's filter pattern",
            ["route"],
            registry=r,
        )
        self.dead_lettered = Counter(
            "cwlpipe_dead_letters",
            "Records or documents written to the dead-letter topic",
            ["stage"],
            registry=r,
        )
        self.dead_letter_errors = Counter(
            "cwlpipe_dead_letter_errors",
            "Failed dead-letter writes, retried (DeadLetterErrors)",
            registry=r,
        )
        self.errors = Counter(
            "cwlpipe_errors", "Unexpected errors by stage (Errors)", ["stage"], registry=r
        )
        self.throttles = Counter(
            "cwlpipe_throttles",
            "Store refusals and backoffs by reason (Throttles)",
            ["reason"],
            registry=r,
        )
        self.paused = Gauge(
            "cwlpipe_paused", "1 while partitions are paused for a saturated store", registry=r
        )
        self.batch_duration = Histogram(
            "cwlpipe_batch_duration_seconds",
            "Time to process, index and commit one batch (Duration)",
            buckets=_SECONDS,
            registry=r,
        )
        self.bulk_duration = Histogram(
            "cwlpipe_bulk_request_duration_seconds",
            "Latency of one _bulk request",
            buckets=_SECONDS,
            registry=r,
        )
        self.lag = Gauge(
            "cwlpipe_lag_seconds",
            "Age of the newest log event of the last batch at processing time; 0 once caught up"
            " (IteratorAge)",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "cwlpipe_consumer_lag_records",
            "High watermark minus the next offset to handle, per assigned partition",
            ["topic", "partition"],
            registry=r,
        )
        self.commit_failures = Counter(
            "cwlpipe_commit_failures",
            "Offset commits that failed (the records are read again)",
            registry=r,
        )
        self.handed_over = Counter(
            "cwlpipe_events_handed_over",
            "Documents not written because their partition was revoked mid-write;"
            " the new owner reads and writes them",
            registry=r,
        )
        self.abandoned_batches = Counter(
            "cwlpipe_abandoned_batches",
            "Batches given up unfinished (stop deadline), to be read again",
            registry=r,
        )

        # series that alert rules look for exist from the start, at 0
        for stage in ("decode", "process", "index", "trace"):
            self.dead_lettered.labels(stage)
        self.errors.labels("process")
        for reason in ("connection", "429", "503"):
            self.throttles.labels(reason)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
