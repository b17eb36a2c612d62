"""Health metrics, named after the Lambda metrics operators already read, and the HTTP endpoints.

``GET /metrics`` serves these and the derived metrics; ``/healthz`` says the
process is alive; ``/readyz`` says it is consuming (joined its group, store
reachable), for a load balancer or an orchestrator.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from consumers.prometheus.export import DerivedMetricsExporter

__all__ = ["HealthMetrics", "MetricsServer"]

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
            "Age of the newest log event of the last batch at processing time (IteratorAge)",
            registry=r,
        )

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class MetricsServer:
    def __init__(
        self, metrics: HealthMetrics, address: str, port: int, ready: Callable[[], bool]
    ) -> None:
        self.metrics = metrics
        self.address = address
        self.port = port
        self._ready = ready
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Start serving; returns the port (useful with port 0)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.address, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self.metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")
