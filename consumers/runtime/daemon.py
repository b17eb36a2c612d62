"""The daemon's lifecycle: built from the config in one place, ``start()`` / ``run()`` / ``stop()``.

``start`` serves ``/healthz`` first, then waits out a broker or a store that
is down (one line per attempt, no traceback) until both answer or a stop is
requested; ``run`` hands over to :class:`~consumers.runtime.batch_loop.BatchLoop`
and, once a stop is requested, cancels whatever is still running at the
shutdown deadline, so SIGTERM always ends the process in time; ``stop``
closes everything, each step bounded. Usable as ``async with``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer

from consumers.config.service import ServiceConfig
from consumers.config.summary import mask_url
from consumers.kafka.dead_letters import KafkaDeadLetters
from consumers.kafka.source import KafkaSource, make_consumer, make_producer, started
from consumers.opensearch.retention import RetentionManager, RetentionPlan
from consumers.opensearch.sink import OpenSearchSink, make_client
from consumers.opensearch.trace_templates import install_trace_templates
from consumers.prometheus.export import exporter_for
from consumers.prometheus.health import HealthMetrics
from consumers.prometheus.server import MetricsServer
from consumers.runtime.batch_loop import BatchLoop
from consumers.runtime.errors import describe
from consumers.runtime.gc_tuning import tune_for_batches
from consumers.runtime.protocols import Pipeline
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError, until_up
from pipeline.errors import ConfigError
from pipeline.process import Processor
from pipeline.traces.processor import TraceProcessor

__all__ = ["Daemon", "StartupError", "build_daemon", "serve"]

log = logging.getLogger("cwlpipe")
PROGRESS_EVERY_S = 30.0
T = TypeVar("T")
CLOSE_STEP_S = 5.0


class Daemon:
    """One consumer-group member: the source, the pipelines, the dead letters, the endpoints."""

    def __init__(self, config: ServiceConfig, *, metrics_port: int | None = None) -> None:
        if config.opensearch.url is None:
            raise ConfigError(
                "cwlpipe run needs an OpenSearch URL", file=config.file, key="opensearch.url"
            )
        self.config = config
        self.stop_signal = StopSignal()
        self.policy = RetryPolicy(
            config.opensearch.initial_backoff_s, config.opensearch.max_backoff_s
        )
        self.metrics = HealthMetrics(exporter_for(config))
        for route in config.router().all_routes:
            self.metrics.filtered_out.labels(route.name)
        self.sink = OpenSearchSink(
            make_client(config.opensearch),
            config.opensearch,
            on_throttle=lambda reason: self.metrics.throttles.labels(reason).inc(),
            on_bulk=self.metrics.bulk_duration.observe,
        )
        self.producer: AIOKafkaProducer = make_producer(config.kafka)
        self.source = self._new_source()
        self.pipelines = [
            Pipeline("logs", config.kafka.input_topics, Processor(config.core), self.sink),
        ]
        traces = config.core.traces
        if traces.enabled:
            self.pipelines.append(
                Pipeline("traces", traces.input_topics, TraceProcessor(traces), self.sink)
            )
        self.loop = BatchLoop(
            self.source,
            self.pipelines,
            KafkaDeadLetters(self.producer, config.kafka.dead_letter_topic),
            self.metrics,
            stop=self.stop_signal,
            policy=self.policy,
            max_batch_bytes=config.kafka.max_batch_bytes,
        )
        self.retention = RetentionManager(self.sink.client)
        self.server = MetricsServer(
            self.metrics.registry,
            config.metrics.address,
            config.metrics.port if metrics_port is None else metrics_port,
            ready=self.ready,
        )
        self.store_ready = False
        self._started: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        self._began = time.monotonic()

    def _new_source(self) -> KafkaSource:
        kafka = self.config.kafka
        return KafkaSource(
            make_consumer(kafka),
            self.config.input_topics,
            max_records=kafka.max_batch_records,
            max_bytes=kafka.max_batch_bytes,
        )

    def ready(self) -> bool:
        """Consuming: partitions assigned, the store answered and is not refusing right now."""
        return (
            self.store_ready
            and self.source.assigned_once
            and not self.loop.source_paused
            and not self.stop_signal.requested
        )

    def request_stop(self) -> None:
        """Stop fetching; a batch in hand may take ``shutdown_deadline_s``; a second request:
        stop now (the batch in hand is left uncommitted and read again)."""
        if self.stop_signal.requested:
            log.warning("second stop request: stopping now")
            self.stop_signal.hurry()
            return
        log.info(
            "stopping (a batch in hand gets at most %.0f s; signal again to stop now)",
            self.config.shutdown_deadline_s,
        )
        self.stop_signal.request(self.config.shutdown_deadline_s)

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)

    # -- start -------------------------------------------------------------------------------

    async def start(self) -> bool:
        """Endpoints, broker, store; False when a stop came before everything answered."""
        try:
            await self.server.start()
        except OSError as error:
            raise StartupError(
                f"cannot serve metrics on {self.config.metrics.address}:{self.server.port}: "
                f"{error.strerror or error}"
            ) from error
        self._started.add("server")
        self._banner()
        brokers = self.config.kafka.bootstrap_servers
        if not await self._until_up(f"Kafka ({brokers})", self._start_producer):
            return False
        if not await self._until_up(f"Kafka ({brokers}) consumer group", self._start_source):
            return False
        plan = await self._until_up(
            f"OpenSearch ({mask_url(self.config.opensearch.url or '')})", self._bootstrap_store
        )
        if plan is None:
            return False
        self.store_ready = True
        for line in plan.describe():
            log.info("retention: %s", line)
        if not plan.ism:
            routes = self.config.index_routes()
            self._sweeper = asyncio.create_task(self.retention.sweep_forever(routes))
        tune_for_batches()  # start-up is done: freeze what it built
        return True

    async def _start_producer(self) -> bool:
        try:
            await started(self.producer)
        except BaseException:
            self.producer = make_producer(self.config.kafka)  # a failed start is not restartable
            self.loop.dead_letters = KafkaDeadLetters(
                self.producer, self.config.kafka.dead_letter_topic
            )
            raise
        self._started.add("producer")
        return True

    async def _start_source(self) -> bool:
        try:
            await started(self.source)
        except BaseException:
            self.source = self._new_source()
            self.loop.source = self.source
            raise
        self._started.add("consumer")
        return True

    async def _bootstrap_store(self) -> RetentionPlan:
        routes = self.config.router().all_routes
        await self.sink.install_templates([route.index_prefix for route in routes])
        if self.config.core.traces.enabled:
            await install_trace_templates(self.sink.client, self.config.core.traces)
        return await self.retention.apply(self.config.index_routes())

    async def _until_up(self, what: str, attempt: Callable[[], Awaitable[T]]) -> T | None:
        return await until_up(what, attempt, policy=self.policy, stop=self.stop_signal)

    def _banner(self) -> None:
        kafka, store = self.config.kafka, self.config.opensearch
        routes = ", ".join(f"{r.name}->{r.index_prefix}-*" for r in self.config.router().all_routes)
        log.info(
            "cwlpipe run: brokers %s, topics %s, group %s, dead letters -> %s",
            kafka.bootstrap_servers,
            ",".join(self.config.input_topics),
            kafka.group_id,
            kafka.dead_letter_topic,
        )
        log.info("store %s, routes %s", mask_url(store.url or ""), routes)
        traces = self.config.core.traces
        if traces.enabled:
            log.info(
                "traces: %s -> %s-*, service map %s",
                ",".join(traces.input_topics),
                traces.span_index_prefix,
                traces.service_map_index,
            )
        log.info("metrics %s", self.server.url)

    # -- run ---------------------------------------------------------------------------------

    async def run(self, *, until_idle: float | None = None) -> int:
        """Consume until stopped; the batch in hand is cancelled at the shutdown deadline."""
        work = asyncio.create_task(self.loop.run(until_idle=until_idle))
        progress = asyncio.create_task(self._progress())
        try:
            while not work.done():
                stopping = self.stop_signal.requested
                left = max(0.0, self.stop_signal.remaining() - CLOSE_STEP_S)
                timeout = min(1.0, left) if stopping else 1.0
                done, _ = await asyncio.wait({work}, timeout=timeout)
                if not done and stopping and left <= 0:
                    log.warning("shutdown deadline reached; the batch in hand will be read again")
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
            if not work.cancelled():
                work.result()
        finally:
            progress.cancel()
        return 0

    async def _progress(self) -> None:
        last = self.loop.totals.events
        while True:
            await asyncio.sleep(PROGRESS_EVERY_S)
            t = self.loop.totals
            lag = sum(self.source.lag().values())
            log.info(
                "progress: %d records, %d events (%.0f/s), %d indexed, %d dead letters, "
                "lag %d records",
                t.records,
                t.events,
                (t.events - last) / PROGRESS_EVERY_S,
                t.indexed,
                t.dead_letters,
                lag,
            )
            last = t.events

    # -- stop --------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Close everything in order, each step bounded, whatever state the neighbours are in."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
            ("consumer", self.source.stop),
            ("producer", self.producer.stop),
        ]
        for name, close in steps:  # also when never started: aiokafka warns of unclosed clients
            try:
                await asyncio.wait_for(close(), CLOSE_STEP_S)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # we are being cancelled ourselves
                # aiokafka lets its fetcher's cancellation escape stop() while a broker is away
                log.debug("closing the Kafka %s: cancelled inside the client", name)
            except Exception as error:
                if name in self._started:
                    log.warning("closing the Kafka %s: %s", name, describe(error))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sink.close(), CLOSE_STEP_S)
        self.loop.close()
        if "server" in self._started:
            await self.server.stop()
        if "producer" not in self._started:
            return  # never ran: nothing to total up
        t = self.loop.totals
        log.info(
            "stopped after %.0f s: %d records, %d events, %d indexed, %d filtered out, "
            "%d dead letters",
            time.monotonic() - self._began,
            t.records,
            t.events,
            t.indexed,
            t.filtered_out,
            t.dead_letters,
        )

    async def __aenter__(self) -> Daemon:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.stop()


def build_daemon(config: ServiceConfig, metrics_port: int | None = None) -> Daemon:
    return Daemon(config, metrics_port=metrics_port)


async def serve(daemon: Daemon, *, until_idle: float | None = None) -> int:
    """Start (waiting out what is down), consume until stopped, close."""
    async with daemon:
        if not await daemon.start():
            return 0  # asked to stop before the broker or the store ever answered
        return await daemon.run(until_idle=until_idle)
