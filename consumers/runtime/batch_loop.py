"""The batch loop: fetch -> process -> write -> dead letters -> commit, two batches deep.

Written against :mod:`consumers.runtime.protocols`, so the same loop runs on
Kafka and OpenSearch and on the in-package doubles. What it guarantees:

- Offsets move only after every document of a batch is acknowledged by its
  sink or its dead letter is written; only for partitions still owned.
- No record ends the process: an exception while processing or encoding one
  record makes that record a dead letter of stage ``process``.
- Pipelining, because the store idled while a batch was processed: at most
  two batches are in hand, one being written (retries, dead letters and
  commit included) while the next is processed in a worker thread (which
  also keeps the event loop, heartbeats and ``/metrics`` answering). The next
  batch is fetched once the previous one is processed, just before that one
  is written, and is written only after that write is committed. So batches
  are committed in the order they were fetched, and per partition the
  committed offset only moves forward.
- Bounded in bytes: a batch weighs what it keeps until it is committed, its
  record values plus its encoded documents. Processing stops taking records
  once a batch weighs half of ``max_batch_bytes``, or what the batch in
  flight leaves of it, and the rest is given back; the next batch is fetched
  only while the one in flight weighs less than ``max_batch_bytes``. The two
  together never keep more than ``max_batch_bytes`` plus the one record that
  crossed the line. (The fetch itself is not narrowed: records past the line
  are handed back unprocessed, and they were in the source's buffer anyway.)
- A store that refuses pauses the source and is retried under the shared
  policy; a dead-letter write that fails is retried likewise. Meanwhile the
  next batch waits, processed, and nothing more is fetched: the loop fetches
  only between writes, and polls the paused source to stay in its group.
- Ownership: a batch carries the source's assignment epochs from when it was
  fetched. Whatever belongs to a partition revoked since (even one assigned
  back: it is read again from its committed offset) is left to the
  partition's owner: not written, not dead-lettered, not committed, not
  rewound. Its documents count as handed over; its records' own dead letters
  are dropped and those records not counted in.
- Stop: nothing is fetched once a stop is requested; both batches in hand
  are finished within the deadline. Past it the batch being written is
  given up, and so is the next one: both are rewound, nothing committed.
- Accounting: the counters of a batch are added when it is finished, so
  ``records_in == processed + dead_lettered(decode, process) + control`` and
  ``events_in == indexed + filtered_out + dead_lettered(index) + handed_over``
  hold exactly (``handed_over``: documents of a partition revoked before they
  were acknowledged, left to the partition's new owner; 0 without rebalances).
  Derived metrics (metric filters, Lambda, EMF) also count once a batch is
  committed, for the partitions still owned (the new owner counts the rest),
  and are added in the worker thread, after the batch it is processing: the
  exporter's per-sample work was a quarter of the event loop's CPU. ``run``
  and ``handle`` return once they are added.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
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
    PreparingSink,
    Record,
    Refusal,
    Sink,
    Source,
    Waiting,
)
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.writes import refused_dead_letter, write_all
from pipeline.derived_metrics import DerivedMetrics

__all__ = ["BatchLoop", "Totals"]

log = logging.getLogger("cwlpipe")
POLL_S = 0.5
FLUSH_EVERY_S = 1.0


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
    """A batch after the CPU work: documents per pipeline, dead letters, the counts to add.

    ``weight`` grows while the worker thread processes, so the loop can tell
    what the batch keeps at any moment.
    """

    handled: list[Record] = field(default_factory=list)
    remainder: list[Record] = field(default_factory=list)
    documents: dict[str, list[Document]] = field(default_factory=dict)
    dead_letters: list[DeadLetterRecord] = field(default_factory=list)
    derived: list[tuple[Partition, DerivedMetrics]] = field(default_factory=list)
    partitions: set[Partition] = field(default_factory=set)  # of the records handled
    control: int = 0
    events: int = 0
    filtered_by_route: dict[str, int] = field(default_factory=dict)
    newest_event_ms: int = 0
    weight: int = 0


@dataclass(slots=True, eq=False)
class _Batch:
    """Records as fetched, the assignment epochs they were fetched under, their processing."""

    records: list[Record]
    epochs: Mapping[Partition, int]
    prepared: _Prepared
    processing: asyncio.Future[None]
    started: float


class _Sent(enum.Enum):
    WRITTEN = enum.auto()
    LEFT = enum.auto()  # its partition was revoked: the new owner writes it
    GIVEN_UP = enum.auto()  # the stop deadline came first


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
        self._prepare_writes: dict[str, Callable[[list[Document]], list[Document]]] = {
            p.name: p.sink.prepare for p in pipelines if isinstance(p.sink, PreparingSink)
        }
        self.dead_letters = dead_letters
        self.metrics = metrics
        self.stop = stop
        self.policy = policy
        self.max_batch_bytes = max_batch_bytes
        self.totals = Totals()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cwlpipe-process")
        self._lag_labels: set[Partition] = set()
        self._in_hand: list[_Batch] = []
        self._flushed = time.monotonic()
        self._derived_added: Future[None] | None = None  # the latest batch's derived metrics
        self.source_paused = False

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def bytes_in_hand(self) -> int:
        """What the batches fetched and not yet committed keep (values and documents)."""
        return sum(batch.prepared.weight for batch in self._in_hand)

    # -- the loop ----------------------------------------------------------------------------

    async def run(self, *, until_idle: float | None = None) -> None:
        """Handle batches until a stop is requested (or ``until_idle`` seconds pass with none)."""
        await self._run(until_idle)
        await self._derived_metrics_added()

    async def _run(self, until_idle: float | None) -> None:
        idle_since = time.monotonic()
        failures = 0
        ahead: _Batch | None = None
        try:
            while True:
                if ahead is None:
                    if self.stop.requested:
                        await self._flush_waits(everything=True)
                        return
                    try:
                        records = await self.source.fetch(POLL_S)
                    except Exception as error:  # the broker is away: wait for it, as for the store
                        delay = self.policy.delay(failures)
                        log.warning("fetch failed (%s); retrying in %.1f s", describe(error), delay)
                        failures += 1
                        await self.stop.sleep(delay)
                        continue
                    failures = 0
                    self._observe_lag(caught_up=not records)
                    if not records:
                        await self._flush_waits()
                        if until_idle is not None and time.monotonic() - idle_since > until_idle:
                            return
                        continue
                    ahead = self._start(records, self._half())
                batch, ahead = ahead, None
                prepared = await self._processed(batch)
                ahead = await self._fetch_ahead(prepared.weight)
                if not await self._finish(batch):
                    self._abandon([batch] if ahead is None else [batch, ahead])
                    ahead = None
                    return
                idle_since = time.monotonic()
                await self._flush_waits()
        finally:
            for left in self._in_hand:  # cancelled: whatever is in hand is read again later
                left.processing.cancel()
            self._in_hand.clear()

    async def handle(self, records: list[Record]) -> bool:
        """One batch from processing to commit, nothing beside it; False when it was abandoned
        (read again later)."""
        batch = self._start(records, self._half())
        try:
            await self._processed(batch)
            if await self._finish(batch):
                await self._derived_metrics_added()
                return True
            self._abandon([batch])
            return False
        finally:
            if batch in self._in_hand:
                self._in_hand.remove(batch)

    def _half(self) -> int:
        """A batch's share of the byte budget: half, so the next one fits beside it."""
        return max(1, self.max_batch_bytes // 2)

    def _start(self, records: list[Record], limit: int) -> _Batch:
        """Stamp the batch with the epochs it was fetched under and process it in the thread."""
        prepared = _Prepared()
        processing = asyncio.get_running_loop().run_in_executor(
            self._executor, self._prepare, records, limit, prepared
        )
        batch = _Batch(records, dict(self.source.epochs), prepared, processing, time.perf_counter())
        self._in_hand.append(batch)
        return batch

    async def _processed(self, batch: _Batch) -> _Prepared:
        """The batch once processed; what it did not take goes back to the source first,
        before any later fetch, so the source hands records out in offset order."""
        await batch.processing
        prepared = batch.prepared
        owned = self._still_owned(batch.epochs)
        remainder = [record for record in prepared.remainder if record.where in owned]
        prepared.remainder = []
        if remainder:
            self.source.give_back(remainder)
        return prepared

    async def _fetch_ahead(self, in_flight: int) -> _Batch | None:
        """The next batch, processing while the one just processed is written; None when
        stopping, when the one in flight fills the budget, or when nothing is buffered (the
        poll does not wait: the batch in hand is not held up for it)."""
        room = self.max_batch_bytes - in_flight
        if self.stop.requested or room <= 0:
            return None
        try:
            records = await self.source.fetch(0)
        except Exception as error:  # the next regular fetch reports it and waits
            log.debug("fetch ahead failed: %s", describe(error))
            return None
        self._observe_lag(caught_up=False)
        if not records:
            return None
        return self._start(records, min(self._half(), room))

    async def _finish(self, batch: _Batch) -> bool:
        """Write, dead-letter and commit a processed batch; False at the stop deadline
        (nothing committed; the caller rewinds)."""
        prepared = batch.prepared
        refused: list[Refusal] = []
        indexed = 0
        for name, documents in prepared.documents.items():
            outcome = await self._write(
                self.pipelines[name].sink, documents, batch.epochs, prepared.partitions
            )
            if outcome is None:
                return False
            indexed += outcome[0]
            refused += outcome[1]
        dead_letters = prepared.dead_letters + [self._index_dead_letter(r) for r in refused]
        sent = records_left = 0
        for dead_letter in dead_letters:
            result = await self._send_dead_letter(dead_letter, batch.epochs)
            if result is _Sent.GIVEN_UP:
                return False
            if result is _Sent.WRITTEN:
                sent += 1
            elif dead_letter.stage == "index":
                self._handed_over(1)
            else:
                records_left += 1
        if records_left:
            log.info(
                "%d failed records of revoked partitions left to their new owner", records_left
            )
        owned = self._still_owned(batch.epochs)
        offsets: dict[Partition, int] = {}
        for record in prepared.handled:
            where = record.where
            if where in owned:
                offsets[where] = max(offsets.get(where, 0), record.offset + 1)
        if not await self.source.commit(offsets):
            self.metrics.commit_failures.inc()
        self._count(prepared, indexed, sent, records_left)
        self._add_derived_metrics([d for where, d in prepared.derived if where in owned])
        self.metrics.batch_duration.observe(time.perf_counter() - batch.started)
        self._in_hand.remove(batch)
        return True

    def _abandon(self, batches: list[_Batch]) -> None:
        """Rewind every batch given up in one call (a source seeks to the first offset it is
        given per partition, so the earlier batch's offsets must be in the same call)."""
        records: list[Record] = []
        for batch in batches:
            owned = self._still_owned(batch.epochs)
            records += [record for record in batch.records if record.where in owned]
            batch.processing.cancel()
            self._in_hand.remove(batch)
        self.source.rewind(records)
        self.metrics.abandoned_batches.inc(len(batches))
        log.warning(
            "%d batch(es) of %d records given up at the stop deadline; read again later",
            len(batches),
            sum(len(batch.records) for batch in batches),
        )

    def _still_owned(self, epochs: Mapping[Partition, int]) -> frozenset[Partition]:
        """The partitions of a batch the source still holds under the same assignment."""
        current = self.source.epochs
        return frozenset(where for where, epoch in epochs.items() if current.get(where) == epoch)

    # -- CPU work (worker thread) ------------------------------------------------------------

    def _prepare(self, records: list[Record], limit: int, prepared: _Prepared) -> None:
        """Take records until the batch weighs ``limit`` (at least one); the rest is remainder.
        Then the sinks that can do their per-document work ahead do it here, off the event
        loop."""
        for position, record in enumerate(records):
            if prepared.weight >= limit:
                prepared.remainder = records[position:]
                break
            prepared.handled.append(record)
            prepared.partitions.add(record.where)
            prepared.weight += len(record.value) + self._prepare_one(record, prepared)
        for name, documents in prepared.documents.items():
            prepare = self._prepare_writes.get(name)
            if prepare is None:
                continue
            try:
                prepared.documents[name] = prepare(documents)
            except Exception as error:  # a sink bug: its write does the same work later
                log.warning("preparing the %s write failed: %s", name, describe(error))

    def _prepare_one(self, record: Record, prepared: _Prepared) -> int:
        """Process and encode one record; returns the bytes its documents add to the batch
        (a dead letter keeps the record's value, already counted)."""
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
            return 0
        if outcome.dead_letter is not None:
            prepared.dead_letters.append(
                _record_dead_letter(record, outcome.dead_letter.stage, outcome.dead_letter.reason)
            )
            return 0
        prepared.control += outcome.control_batches
        prepared.events += outcome.events
        for route, count in outcome.filtered_by_route.items():
            prepared.filtered_by_route[route] = prepared.filtered_by_route.get(route, 0) + count
        prepared.derived.append((record.where, outcome.derived))
        prepared.newest_event_ms = max(prepared.newest_event_ms, outcome.newest_event_ms)
        prepared.documents.setdefault(pipeline.name, []).extend(documents)
        return sum(len(document.body) for document in documents)

    # -- waits that ran out ------------------------------------------------------------------

    async def _flush_waits(self, *, everything: bool = False) -> None:
        """What a processor's expired waits yield (the trace pipeline's service-map documents
        and inferred edges), at most once per ``FLUSH_EVERY_S``, for when no record of its
        topics comes along to carry it. These documents are derived from records already
        committed: they are written with a few attempts and, failing that, logged and counted
        (a restart would have lost the waits anyway). ``everything`` at a stop: every wait
        ends now, so an edge waiting for its trace group is written without one rather than
        lost."""
        now = time.monotonic()
        if now - self._flushed < FLUSH_EVERY_S and not everything:
            return
        self._flushed = now
        for pipeline in self.pipelines.values():
            processor = pipeline.processor
            if not isinstance(processor, Waiting) or not processor.waiting():
                continue
            outcome = await asyncio.get_running_loop().run_in_executor(
                self._executor, processor.flush, everything
            )
            self.metrics.derived.observe(outcome.derived)
            if not outcome.actions:
                continue
            origin = Record(pipeline.topics[0], -1, -1, b"")
            documents = [encode_document(action, origin) for action in outcome.actions]
            result = await write_all(
                pipeline.sink, documents, policy=self.policy, stop=self.stop, max_attempts=3
            )
            self.metrics.events_in.inc(len(documents))
            self.metrics.indexed.inc(result.acknowledged)
            lost = len(result.refused) + len(result.retry)
            if lost:
                self.metrics.errors.labels("flush").inc(lost)
                log.warning(
                    "%d %s documents of expired waits not written (%s)",
                    lost,
                    pipeline.name,
                    result.retry_reason or (result.refused[0].reason if result.refused else ""),
                )

    # -- writing -----------------------------------------------------------------------------

    async def _write(
        self,
        sink: Sink,
        documents: list[Document],
        epochs: Mapping[Partition, int],
        partitions: set[Partition],
    ) -> tuple[int, list[Refusal]] | None:
        """Every document still owned acknowledged or refused for good; None past the stop
        deadline. Documents of partitions revoked since the fetch are left to the new owner,
        also before the first attempt (a revoke while the batch was processed)."""
        acknowledged = 0
        refused: list[Refusal] = []
        pending = self._keep_owned(documents, epochs, partitions)
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
                pending = self._keep_owned(result_retry, epochs, partitions)
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
        owned = self._still_owned(epochs)
        kept = [r for r in refused if r.document.origin.where in owned]
        self._handed_over(len(refused) - len(kept))
        return acknowledged, kept

    def _keep_owned(
        self,
        documents: list[Document],
        epochs: Mapping[Partition, int],
        partitions: set[Partition],
    ) -> list[Document]:
        """``documents`` themselves (what a sink prepared) while every partition of the batch
        (``partitions``) is still owned, as it nearly always is; else those still owned."""
        owned = self._still_owned(epochs)
        if partitions <= owned:
            return documents
        kept = [d for d in documents if d.origin.where in owned]
        self._handed_over(len(documents) - len(kept))
        return kept

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

    async def _send_dead_letter(
        self, record: DeadLetterRecord, epochs: Mapping[Partition, int]
    ) -> _Sent:
        """Written, left to the new owner of a revoked partition, or given up past the stop
        deadline; a permanent failure sends a size-safe form."""
        try:
            return await self._send_until_written(record, epochs)
        finally:
            self._pause(False)

    async def _send_until_written(
        self, record: DeadLetterRecord, epochs: Mapping[Partition, int]
    ) -> _Sent:
        attempt = 0
        where = Partition(record.topic, record.partition)
        while True:
            if where not in self._still_owned(epochs):
                return _Sent.LEFT
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
                    return _Sent.GIVEN_UP
            else:
                self.metrics.dead_lettered.labels(record.stage).inc()
                return _Sent.WRITTEN

    def _index_dead_letter(self, refusal: Refusal) -> DeadLetterRecord:
        origin = refusal.document.origin
        return refused_dead_letter(
            refusal, topic=origin.topic, partition=origin.partition, offset=origin.offset
        )

    # -- accounting --------------------------------------------------------------------------

    def _count(
        self, prepared: _Prepared, indexed: int, dead_letters: int, records_left: int
    ) -> None:
        """``records_left``: records whose dead letter was left to a partition's new owner;
        they had no events, so leaving them out of ``records_in`` keeps both identities."""
        records = len(prepared.handled) - records_left
        m = self.metrics
        m.batches.inc()
        m.records_in.inc(records)
        m.control_messages.inc(prepared.control)
        m.events_in.inc(prepared.events)
        m.indexed.inc(indexed)
        for route, count in prepared.filtered_by_route.items():
            m.filtered_out.labels(route).inc(count)
        if prepared.newest_event_ms:
            m.lag.set(max(0.0, time.time() - prepared.newest_event_ms / 1000))
        t = self.totals
        t.records += records
        t.events += prepared.events
        t.indexed += indexed
        t.filtered_out += sum(prepared.filtered_by_route.values())
        t.dead_letters += dead_letters

    def _add_derived_metrics(self, derived: list[DerivedMetrics]) -> None:
        """Queued behind the batch being processed: the worker thread takes them in order."""
        if not derived:
            return
        try:
            self._derived_added = self._executor.submit(self._observe_derived, derived)
        except RuntimeError:  # closed meanwhile (the daemon is stopping): add them here
            self._observe_derived(derived)

    def _observe_derived(self, derived: list[DerivedMetrics]) -> None:
        try:
            for one in derived:
                self.metrics.derived.observe(one)
        except Exception as error:  # an exporter bug must not take the worker thread down
            log.warning("derived metrics not exported: %s", describe(error))

    async def _derived_metrics_added(self) -> None:
        if self._derived_added is not None:
            await asyncio.wrap_future(self._derived_added)

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
