"""The batch loop: fetch -> process -> write -> dead letters -> commit, one batch at a time.

Written against :mod:`consumers.runtime.protocols`, so the same loop runs on
Kafka and OpenSearch and on the in-package doubles. What it guarantees:

- Offsets move only after every document of a batch is acknowledged by its
  sink or its dead letter is written; only for partitions still assigned.
- No record ends the process: an exception while processing or encoding one
  record makes that record a dead letter of stage ``process``.
- A batch is bounded in bytes twice: the source bounds the record values,
  and processing stops once the encoded documents reach ``max_batch_bytes``
  (the rest is given back). The CPU work runs in a worker thread, so the
  event loop (heartbeats, ``/metrics``) keeps answering during a big batch.
- A store that refuses pauses the source and is retried under the shared
  policy; a dead-letter write that fails is retried likewise; past the stop
  deadline the batch is abandoned (rewound, nothing committed).
- Accounting: the counters of a batch are added when it is finished, so
  ``records_in == processed + dead_lettered(decode, process) + control`` and
  ``events_in == indexed + filtered_out + dead_lettered(index) + handed_over``
  hold exactly (``handed_over``: documents of a partition revoked while its
  write was retried, left to the partition's new owner; 0 without rebalances).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

from consumers.kafka.dead_letters import DeadLetterRecord, now_ms
from consumers.opensearch.sink import encode_document
from consumers.prometheus.health import HealthMetrics
from consumers.runtime.errors import describe, is_retriable
from consumers.runtime.protocols import (
    DeadLetters,
    Document,
    Partition,
    Pipeline,
    Record,
    Refusal,
    Sink,
    Source,
)
from consumers.runtime.retry import RetryPolicy, StopSignal
from pipeline.derived_metrics import DerivedMetrics

__all__ = ["BatchLoop", "Totals"]

log = logging.getLogger("cwlpipe")
POLL_S = 0.5


@dataclass(slots=True)
class Totals:
    """What the loop has finished since it started (for the progress and shutdown lines)."""

    records: int = 0
    events: int = 0
    indexed: int = 0
    filtered_out: int = 0
    dead_letters: int = 0


@dataclass(slots=True)
class _Prepared:
    """A batch after the CPU work: documents per pipeline, dead letters, the counts to add."""

    handled: list[Record] = field(default_factory=list)
    remainder: list[Record] = field(default_factory=list)
    documents: dict[str, list[Document]] = field(default_factory=dict)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    derived: list[DerivedMetrics] = field(default_factory=list)
    control: int = 0
    events: int = 0
    filtered_by_route: dict[str, int] = field(default_factory=dict)
    newest_event_ms: int = 0


class BatchLoop:
    def __init__(
        self,
        source: Source,
        pipelines: Sequence[Pipeline],
        dead_letters: DeadLetters,
        metrics: HealthMetrics,
        *,
        stop: StopSignal,
        policy: RetryPolicy,
        max_batch_bytes: int,
    ) -> None:
        self.source = source
        self.pipelines = {pipeline.name: pipeline for pipeline in pipelines}
        self.by_topic = {topic: pipeline for pipeline in pipelines for topic in pipeline.topics}
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.stop = stop
        self.policy = policy
        self.max_batch_bytes = max_batch_bytes
        self.totals = Totals()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cwlpipe-process")
        self._lag_labels: set[Partition] = set()
        self.source_paused = False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, *, until_idle: float | None = None) -> None:
        """Handle batches until a stop is requested (or ``until_idle`` seconds pass with none)."""
        idle_since = time.monotonic()
        failures = 0
        while not self.stop.requested:
            try:
                records = await self.source.fetch(POLL_S)
            except Exception as error:  # the broker is away: wait for it, like for the store
                delay = self.policy.delay(failures)
                log.warning("fetch failed (%s); retrying in %.1f s", describe(error), delay)
                failures += 1
                await self.stop.sleep(delay)
                continue
            failures = 0
            self._observe_lag(caught_up=not records)
            if records:
                await self.handle(records)
                idle_since = time.monotonic()
            elif until_idle is not None and time.monotonic() - idle_since > until_idle:
                return

    async def handle(self, records: list[Record]) -> bool:
        """One batch from processing to commit; False when it was abandoned (read again later)."""
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        prepared = await loop.run_in_executor(self._executor, self._prepare, records)
        if prepared.remainder:
            self.source.give_back(prepared.remainder)
        refused: list[Refusal] = []
        indexed = 0
        for name, documents in prepared.documents.items():
            outcome = await self._write(self.pipelines[name].sink, documents)
            if outcome is None:
                return self._abandon(prepared.handled)
            indexed += outcome[0]
            refused += outcome[1]
        prepared.dead_letters += [self._index_dead_letter(refusal) for refusal in refused]
        for dead_letter in prepared.dead_letters:
            if not await self._send_dead_letter(dead_letter):
                return self._abandon(prepared.handled)
        offsets: dict[Partition, int] = {}
        for record in prepared.handled:
            offsets[record.where] = max(offsets.get(record.where, 0), record.offset + 1)
        if not await self.source.commit(offsets):
            self.metrics.commit_failures.inc()
        self._count(prepared, indexed)
        self.metrics.batch_duration.observe(time.perf_counter() - started)
        return True

    def _abandon(self, records: list[Record]) -> bool:
        self.source.rewind(records)
        self.metrics.abandoned_batches.inc()
        log.warning(
            "batch of %d records given up at the stop deadline; read again later", len(records)
        )
        return False

    # -- CPU work (worker thread) ------------------------------------------------------------

    def _prepare(self, records: list[Record]) -> _Prepared:
        prepared = _Prepared()
        size = 0
        for position, record in enumerate(records):
            if size >= self.max_batch_bytes:
                prepared.remainder = records[position:]
                break
            prepared.handled.append(record)
            size += self._prepare_one(record, prepared)
        return prepared

    def _prepare_one(self, record: Record, prepared: _Prepared) -> int:
        """Process and encode one record; returns the bytes it added to the batch."""
        pipeline = self.by_topic.get(record.topic)
        try:
            if pipeline is None:
                raise LookupError(f"no pipeline reads topic {record.topic!r}")
            outcome = pipeline.processor.process(record.value)
            documents = [encode_document(action, record) for action in outcome.actions]
        except Exception as error:  # a bug or a poison record must not stop the stream
            reason = describe(error)
            log.warning("record %s/%s/%s failed: %s", *_where(record), reason)
            log.debug("record failed", exc_info=True)
            self.metrics.errors.labels("process").inc()
            prepared.dead_letters.append(_record_dead_letter(record, "process", reason))
            return len(record.value)
        if outcome.dead_letter is not None:
            prepared.dead_letters.append(
                _record_dead_letter(record, outcome.dead_letter.stage, outcome.dead_letter.reason)
            )
            return len(record.value)
        prepared.control += outcome.control_batches
        prepared.events += outcome.events
        for route, count in outcome.filtered_by_route.items():
            prepared.filtered_by_route[route] = prepared.filtered_by_route.get(route, 0) + count
        prepared.derived.append(outcome.derived)
        prepared.newest_event_ms = max(prepared.newest_event_ms, outcome.newest_event_ms)
        prepared.documents.setdefault(pipeline.name, []).extend(documents)
        return sum(len(document.body) for document in documents)

    # -- writing -----------------------------------------------------------------------------

    async def _write(
        self, sink: Sink, documents: list[Document]
    ) -> tuple[int, list[Refusal]] | None:
        """Every document acknowledged or refused for good; None past the stop deadline."""
        acknowledged = 0
        refused: list[Refusal] = []
        pending = documents
        attempt = 0
        try:
            while pending:
                try:
                    result = await sink.write(pending)
                except Exception as error:  # a sink bug: keep the documents, retry later
                    log.warning("sink failed (%s)", describe(error))
                    result_retry, reason = pending, describe(error)
                else:
                    acknowledged += result.acknowledged
                    refused += result.refused
                    result_retry, reason = result.retry, result.retry_reason
                # documents of partitions taken away meanwhile are the new owner's to write
                assigned = self.source.assignment
                pending = [d for d in result_retry if d.origin.where in assigned]
                self._handed_over(len(result_retry) - len(pending))
                if not pending:
                    break
                delay = self.policy.delay(attempt)
                log.warning(
                    "store did not take %d documents (%s); partitions paused, retry %d in %.1f s",
                    len(pending),
                    reason,
                    attempt + 1,
                    delay,
                )
                attempt += 1
                if not await self._wait_paused(delay):
                    return None
        finally:
            self._pause(False)
        assigned = self.source.assignment
        kept = [r for r in refused if r.document.origin.where in assigned]
        self._handed_over(len(refused) - len(kept))
        return acknowledged, kept

    def _handed_over(self, documents: int) -> None:
        """Documents of partitions revoked meanwhile: their new owner writes them."""
        if documents:
            self.metrics.handed_over.inc(documents)
            log.info("%d documents of revoked partitions left to their new owner", documents)

    def _pause(self, paused: bool) -> None:
        if paused == self.source_paused:
            return
        self.source_paused = paused
        self.metrics.paused.set(1 if paused else 0)
        if paused:
            self.source.pause()
        else:
            self.source.resume()

    async def _wait_paused(self, seconds: float) -> bool:
        """Back off with the source paused, polling it so it stays in its group (a poll of a
        running source would take records the batch never handles); False at the deadline.
        The caller resumes the source."""
        self._pause(True)
        until = time.monotonic() + seconds
        while True:
            self._observe_lag(caught_up=False)  # the backlog grows while paused: show it
            left = min(until - time.monotonic(), self.stop.remaining())
            if left <= 0:
                return not self.stop.past_deadline()
            try:
                await self.source.fetch(min(left, POLL_S))
            except Exception as error:
                log.debug("poll while paused failed: %s", describe(error))
                await self.stop.sleep(min(left, POLL_S))

    async def _send_dead_letter(self, record: DeadLetterRecord) -> bool:
        """Written, or False past the stop deadline; a permanent failure sends a size-safe form."""
        try:
            return await self._send_until_written(record)
        finally:
            self._pause(False)

    async def _send_until_written(self, record: DeadLetterRecord) -> bool:
        attempt = 0
        while True:
            try:
                await self.dead_letters.send(record)
            except Exception as error:
                self.metrics.dead_letter_errors.inc()
                if not is_retriable(error) and record.original:
                    log.error(
                        "dead letter refused for good (%s); sending it without its original",
                        describe(error),
                    )
                    record = _without_original(record, describe(error))
                    continue
                delay = self.policy.delay(attempt)
                log.error(
                    "dead-letter write failed (%s); nothing is committed past it; retry in %.1f s",
                    describe(error),
                    delay,
                )
                attempt += 1
                if not await self._wait_paused(delay):
                    return False
            else:
                self.metrics.dead_lettered.labels(record.stage).inc()
                return True

    def _index_dead_letter(self, refusal: Refusal) -> DeadLetterRecord:
        document, status, reason = refusal
        origin = document.origin
        source_line = document.body.split(b"\n", 2)[1]
        return DeadLetterRecord(
            original=source_line,
            topic=origin.topic,
            partition=origin.partition,
            offset=origin.offset,
            stage="index",
            reason=f"HTTP {status}: {reason}",
            time_ms=now_ms(),
            document_id=document.id,
            index=document.index,
        )

    # -- accounting --------------------------------------------------------------------------

    def _count(self, prepared: _Prepared, indexed: int) -> None:
        m = self.metrics
        m.batches.inc()
        m.records_in.inc(len(prepared.handled))
        m.control_messages.inc(prepared.control)
        m.events_in.inc(prepared.events)
        m.indexed.inc(indexed)
        for route, count in prepared.filtered_by_route.items():
            m.filtered_out.labels(route).inc(count)
        for derived in prepared.derived:
            m.derived.observe(derived)
        if prepared.newest_event_ms:
            m.lag.set(max(0.0, time.time() - prepared.newest_event_ms / 1000))
        t = self.totals
        t.records += len(prepared.handled)
        t.events += prepared.events
        t.indexed += indexed
        t.filtered_out += sum(prepared.filtered_by_route.values())
        t.dead_letters += len(prepared.dead_letters)

    def _observe_lag(self, *, caught_up: bool) -> None:
        lags = self.source.lag()
        for where, records in lags.items():
            self.metrics.consumer_lag.labels(where.topic, str(where.partition)).set(records)
        for gone in self._lag_labels - set(lags):
            self.metrics.consumer_lag.remove(gone.topic, str(gone.partition))
        self._lag_labels = set(lags)
        if caught_up and not any(lags.values()):
            self.metrics.lag.set(0)


def _where(record: Record) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset


def _record_dead_letter(record: Record, stage: str, reason: str) -> DeadLetterRecord:
    return DeadLetterRecord(
        original=record.value,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        stage=stage,
        reason=reason,
        time_ms=now_ms(),
    )


def _without_original(record: DeadLetterRecord, why: str) -> DeadLetterRecord:
    return replace(
        record,
        original=b"",
        original_size=len(record.original)
        if record.original_size is None
        else record.original_size,
        original_truncated=True,
        reason=f"{record.reason} [original dropped: {why}]",
    )
