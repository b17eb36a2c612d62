"""``cwlpipe run``: Kafka in, OpenSearch and the dead-letter topic out, nothing lost.

One batch at a time: ``getmany`` -> ``Processor.process`` for every record ->
bulk index -> dead letters -> commit. Offsets move only after every action
of the batch is acknowledged by OpenSearch or its dead letter is written.
When the store stays saturated the partitions are paused (the consumer keeps
polling so it stays in its group) and the same actions are retried. SIGTERM
and SIGINT stop fetching; the batch in hand is finished and committed within
``shutdown_deadline_s``, or left uncommitted for redelivery.
"""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from consumers.kafka.dead_letters import DeadLetterRecord, DeadLetterWriter, now_ms
from consumers.kafka.source import AcknowledgedOffsets, CommitOnRevoke
from consumers.opensearch.sink import BulkReport, OpenSearchSink, StoreUnavailable
from consumers.prometheus.export import exporter_for
from consumers.prometheus.health import HealthMetrics, MetricsServer
from pipeline.config import PipelineConfig
from pipeline.documents import IndexAction
from pipeline.process import Processor

__all__ = ["Daemon"]

log = logging.getLogger("cwlpipe")
_POLL_MS = 500


@dataclass(slots=True)
class _Work:
    actions: list[IndexAction] = field(default_factory=list)
    origin: dict[int, tuple[ConsumerRecord, TopicPartition]] = field(default_factory=dict)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    newest_event_ms: int = 0


class Daemon:
    def __init__(
        self,
        config: PipelineConfig,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        sink: OpenSearchSink,
        *,
        metrics_port: int | None = None,
    ) -> None:
        self.config = config
        self.consumer = consumer
        self.producer = producer
        self.sink = sink
        self.processor = Processor(config)
        self.metrics = HealthMetrics(exporter_for(config))
        self.acknowledged = AcknowledgedOffsets()
        self.listener = CommitOnRevoke(consumer, self.acknowledged)
        self.dead_letters = DeadLetterWriter(
            producer,
            config.kafka.dead_letter_topic,
            on_error=self.metrics.dead_letter_errors.inc,
            should_stop=self._past_deadline,
        )
        sink.on_throttle = self._throttled
        sink.on_bulk = self.metrics.bulk_duration.observe
        self.server = MetricsServer(
            self.metrics,
            config.metrics.address,
            config.metrics.port if metrics_port is None else metrics_port,
            ready=lambda: self.listener.assigned_once and not self._stopping.is_set(),
        )
        self._stopping = asyncio.Event()
        self._deadline: float | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        """Stop fetching; finish (or abandon, past the deadline) the batch in hand."""
        if not self._stopping.is_set():
            self._deadline = time.monotonic() + self.config.shutdown_deadline_s
            self._stopping.set()

    async def wait_for_stop(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True as soon as a stop is requested."""
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _throttled(self, reason: str) -> None:
        self.metrics.throttles.labels(reason).inc()

    def _past_deadline(self) -> bool:
        return self._deadline is not None and time.monotonic() > self._deadline

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)

    async def run(self, *, until_idle: float | None = None) -> int:
        """Consume until asked to stop (or, with ``until_idle``, after that many idle seconds)."""
        await self.server.start()
        await self.producer.start()
        self.consumer.subscribe(list(self.config.kafka.input_topics), listener=self.listener)
        await self.consumer.start()
        idle_since = time.monotonic()
        try:
            while not self._stopping.is_set():
                batch = await self.consumer.getmany(
                    timeout_ms=_POLL_MS, max_records=self.config.kafka.max_batch_records
                )
                if any(batch.values()):
                    await self.handle(batch)
                    idle_since = time.monotonic()
                elif until_idle is not None and time.monotonic() - idle_since > until_idle:
                    break
        finally:
            await self._close()
        return 0

    async def _close(self) -> None:
        try:
            await self.acknowledged.commit(self.consumer)
        except Exception as error:  # redelivered then; the ids make it harmless
            log.warning("final commit failed: %s", error)
        await self.consumer.stop()
        await self.producer.stop()
        await self.server.stop()

    # -- one batch -------------------------------------------------------------------------

    async def handle(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        started = time.perf_counter()
        self.listener.revoked.clear()
        work = _Work()
        for partition, records in batch.items():
            for record in records:
                self._process(partition, record, work)
        self.metrics.batches.inc()
        report = await self._index(work.actions)
        if report is None:  # abandoned: stopping past the deadline, or partitions lost
            self._rewind(batch)
            return
        self.metrics.indexed.inc(report.indexed)
        for rejection in report.rejected:
            record, partition = work.origin[id(rejection.action)]
            work.dead_letters.append(
                DeadLetterRecord(
                    original=orjson.dumps(rejection.action.source),
                    topic=partition.topic,
                    partition=partition.partition,
                    offset=record.offset,
                    stage="index",
                    reason=f"HTTP {rejection.status}: {rejection.reason}",
                    time_ms=now_ms(),
                    document_id=rejection.action.id,
                    index=rejection.action.index,
                )
            )
        for dead_letter in work.dead_letters:
            if not await self.dead_letters.send(dead_letter):
                self._rewind(batch)
                return  # not written: do not commit past it
            self.metrics.dead_lettered.labels(dead_letter.stage).inc()
        self.acknowledged.acknowledge(
            {partition: records[-1].offset + 1 for partition, records in batch.items() if records}
        )
        await self.acknowledged.commit(self.consumer)
        if work.newest_event_ms:
            self.metrics.lag.set(max(0.0, time.time() - work.newest_event_ms / 1000))
        self.metrics.batch_duration.observe(time.perf_counter() - started)

    def _process(self, partition: TopicPartition, record: ConsumerRecord, work: _Work) -> None:
        self.metrics.records_in.inc()
        try:
            outcome = self.processor.process(record.value)
        except Exception as error:  # a bug must not stop the stream: the record is kept
            log.exception("processing failed at %s/%s", partition, record.offset)
            self.metrics.errors.labels("process").inc()
            reason = f"{type(error).__name__}: {error}"
            work.dead_letters.append(self._dead_letter(partition, record, "process", reason))
            return
        if outcome.dead_letter is not None:
            work.dead_letters.append(
                self._dead_letter(
                    partition, record, outcome.dead_letter.stage, outcome.dead_letter.reason
                )
            )
            return
        self.metrics.control_messages.inc(outcome.control_batches)
        self.metrics.events_in.inc(outcome.events)
        for route, count in outcome.filtered_by_route.items():
            self.metrics.filtered_out.labels(route).inc(count)
        for action in outcome.actions:
            work.origin[id(action)] = (record, partition)
            work.actions.append(action)
        self.metrics.derived.observe(outcome.derived)
        work.newest_event_ms = max(work.newest_event_ms, outcome.newest_event_ms)

    def _rewind(self, batch: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Read an unfinished batch again on the partitions still ours (never skip a record)."""
        assigned = self.consumer.assignment()
        for partition, records in batch.items():
            if records and partition in assigned:
                self.consumer.seek(partition, records[0].offset)

    @staticmethod
    def _dead_letter(
        partition: TopicPartition, record: ConsumerRecord, stage: str, reason: str
    ) -> DeadLetterRecord:
        return DeadLetterRecord(
            original=record.value or b"",
            topic=partition.topic,
            partition=partition.partition,
            offset=record.offset,
            stage=stage,
            reason=reason,
            time_ms=now_ms(),
        )

    async def _index(self, actions: list[IndexAction]) -> BulkReport | None:
        """Every action acknowledged or refused for good; None when the batch is abandoned."""
        total = BulkReport()
        pending = actions
        attempt = 0
        while True:
            try:
                report = await self.sink.write(pending)
            except StoreUnavailable as unavailable:
                total.indexed += unavailable.acknowledged
                pending = unavailable.pending
                self._pause(True)
                log.warning("store unavailable, partitions paused: %s", unavailable)
                if not await self._wait_paused(attempt):
                    self._pause(False)
                    return None
                attempt += 1
                continue
            self._pause(False)
            total.indexed += report.indexed
            total.rejected += report.rejected
            return total

    def _pause(self, paused: bool) -> None:
        if paused == self.listener.paused_all:
            return
        self.listener.paused_all = paused
        self.metrics.paused.set(1 if paused else 0)
        assigned = list(self.consumer.assignment())
        if paused:
            self.consumer.pause(*assigned)
        else:
            self.consumer.resume(*assigned)

    async def _wait_paused(self, attempt: int) -> bool:
        """Back off while staying in the group; False when the batch must be abandoned."""
        ceiling = min(self.config.opensearch.max_backoff_s, 2.0 ** min(attempt, 10))
        delay_ms = int(1000 * random.uniform(ceiling / 2, ceiling))
        stray = await self.consumer.getmany(timeout_ms=max(delay_ms, 50))
        for partition, records in stray.items():  # fetched before the pause: read them later
            if records:
                self.consumer.seek(partition, records[0].offset)
                self.consumer.pause(partition)
        if self.listener.revoked:
            lost = sorted(map(str, self.listener.revoked))
            log.warning("partitions %s revoked while paused; their owner re-reads them", lost)
            return False
        return not self._past_deadline()
