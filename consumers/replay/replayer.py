"""Replaying the dead-letter topic through the current pipeline, one committed record at a time.

The replay reads the dead-letter topic with its own consumer group (the daemon's group id plus
``-replay``), partitions assigned by hand, from that group's committed offsets up to the end
offsets as they were at the start, so the dead letters it writes again are never read in the
same run. Per dead letter, in offset order:

- not selected by the :class:`~consumers.replay.selection.Selection`: skipped, committed past;
- stage ``decode``/``process``/``trace``: ``original`` is the record value, processed by the
  daemon's core for the topic it came from (:class:`~pipeline.process.Processor` for log topics,
  :class:`~pipeline.traces.processor.TraceProcessor` for trace topics or stage ``trace``), its
  documents written to the store; stage ``index``: ``original`` is a document's source,
  written again as ``index``/``document_id``;
- what fails again (the core refuses it, the store refuses a document for good, the original
  was truncated when it was dead-lettered) goes back to the topic with the new reason.

The group commits past a dead letter only once its documents are acknowledged and its new dead
letters written, so a replay killed at any point and run again loses nothing: documents keep
their ``_id`` (a second write replaces the first), and a dead letter written again just before
a kill is written once more by the next run (a duplicate on the topic, never a loss). A store
or a dead-letter topic that stays away ends the run with nothing committed past the record in
hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord

from consumers.config.service import ServiceConfig
from consumers.kafka.dead_letters import VERSION, DeadLetterRecord, decode_dead_letter, now_ms
from consumers.opensearch.sink import encode_document
from consumers.replay.selection import Selection
from consumers.runtime.errors import describe
from consumers.runtime.protocols import DeadLetters, Document, Processor, Record, Refusal, Sink
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.writes import refused_dead_letter, write_all
from pipeline.process import Processor as LogProcessor
from pipeline.traces.processor import TraceProcessor

__all__ = ["ReplayError", "Replayer", "Totals", "replay_group", "reprocess"]

log = logging.getLogger("cwlpipe")
POLL_MS = 500


class ReplayError(Exception):
    """The store or the dead-letter topic stayed away: the record in hand is not committed."""


def replay_group(group_id: str) -> str:
    """The replay's own consumer group, beside the daemon's."""
    return f"{group_id}-replay"


@dataclass(slots=True)
class Totals:
    replayed: int = 0
    indexed: int = 0  # documents acknowledged by the store
    dead_lettered: int = 0  # dead letters written again
    skipped: int = 0  # not selected (or unreadable)
    stopped: bool = False  # a stop came before the end: the next run goes on from here
    selected: list[str] = field(default_factory=list)  # dry run: what would be replayed


@dataclass(slots=True)
class Reprocessed:
    """What one dead letter yields now: documents to write, or the dead letter to write again."""

    documents: list[Document]
    dead_letter: DeadLetterRecord | None = None


def reprocess(
    record: DeadLetterRecord, processor_for: Callable[[DeadLetterRecord], Processor]
) -> Reprocessed:
    """The dead letter through the current pipeline (no I/O)."""
    origin = Record(record.topic, record.partition, record.offset, record.original)
    if record.original_truncated:
        size = record.original_size if record.original_size is not None else "?"
        return Reprocessed([], _again(record, record.stage, f"original truncated ({size} bytes)"))
    if record.stage == "index":
        if not record.index or not record.document_id:
            return Reprocessed([], _again(record, "index", "no index or document id to replay"))
        head = encode_head(record.index, record.document_id)
        body = head + record.original.rstrip(b"\n") + b"\n"
        return Reprocessed([Document(record.index, record.document_id, body, origin)])
    try:
        outcome = processor_for(record).process(record.original)
        documents = [encode_document(action, origin) for action in outcome.actions]
    except Exception as error:  # a bug or a poison record, as in the daemon: stage process
        return Reprocessed([], _again(record, "process", describe(error)))
    if outcome.dead_letter is not None:
        dead = outcome.dead_letter
        return Reprocessed([], _again(record, dead.stage, dead.reason))
    return Reprocessed(documents)


def encode_head(index: str, document_id: str) -> bytes:
    return orjson.dumps({"index": {"_index": index, "_id": document_id}}) + b"\n"


def _again(record: DeadLetterRecord, stage: str, reason: str) -> DeadLetterRecord:
    """The same original, from the same place, failing now for ``reason``."""
    return replace(record, stage=stage, reason=reason, time_ms=now_ms(), version=VERSION)


def _refused(refusal: Refusal, record: DeadLetterRecord) -> DeadLetterRecord:
    return refused_dead_letter(
        refusal, topic=record.topic, partition=record.partition, offset=record.offset
    )


class Replayer:
    """One run over the dead-letter topic; ``sink``/``dead_letters`` None for a dry run."""

    def __init__(
        self,
        config: ServiceConfig,
        consumer: AIOKafkaConsumer,
        selection: Selection,
        *,
        sink: Sink | None,
        dead_letters: DeadLetters | None,
        policy: RetryPolicy,
        stop: StopSignal,
        max_attempts: int,
        show: Callable[[str], None] = print,
    ) -> None:
        self.config = config
        self.consumer = consumer
        self.selection = selection
        self.sink = sink
        self.dead_letters = dead_letters
        self.policy = policy
        self.stop = stop
        self.max_attempts = max_attempts
        self.show = show
        self.totals = Totals()
        traces = config.core.traces
        self.trace_topics = frozenset(traces.input_topics) if traces.enabled else frozenset()
        self._logs: LogProcessor | None = None
        self._traces: TraceProcessor | None = None

    @property
    def dry_run(self) -> bool:
        return self.sink is None

    def processor_for(self, record: DeadLetterRecord) -> Processor:
        if record.stage == "trace" or record.topic in self.trace_topics:
            if self._traces is None:
                self._traces = TraceProcessor(self.config.core.traces)
            return self._traces
        if self._logs is None:
            self._logs = LogProcessor(self.config.core)
        return self._logs

    async def run(self) -> Totals:
        """Every partition of the topic up to its end offset at the start (or a stop)."""
        topic = self.config.kafka.dead_letter_topic
        await self.consumer.topics()  # the metadata of every topic, ours included
        partitions = self.consumer.partitions_for_topic(topic)
        if not partitions:
            raise ReplayError(f"the dead-letter topic {topic!r} does not exist")
        assigned = [TopicPartition(topic, p) for p in sorted(partitions)]
        self.consumer.assign(assigned)
        ends: dict[TopicPartition, int] = await self.consumer.end_offsets(assigned)
        left = {tp for tp in assigned if await self.consumer.position(tp) < ends[tp]}
        while left and not self.stop.requested:
            fetched = await self.consumer.getmany(*left, timeout_ms=POLL_MS)
            for tp, records in fetched.items():
                for message in records:
                    if tp not in left or self.stop.requested:
                        break
                    if message.offset >= ends[tp]:
                        left.discard(tp)
                        break
                    await self._one(tp, message)
                    if message.offset + 1 >= ends[tp]:
                        left.discard(tp)
        self.totals.stopped = bool(left)
        await self._flush_waits()
        return self.totals

    async def _flush_waits(self) -> None:
        """What the trace processor still waits for (service-map edges whose other end never
        came), written now as the daemon writes it at a stop: a few attempts, else logged
        (derived from records already committed, as in the daemon)."""
        waiting = self._traces
        if self.sink is None or waiting is None or not waiting.waiting():
            return
        outcome = waiting.flush(everything=True)
        origin = Record(self.config.kafka.dead_letter_topic, -1, -1, b"")
        documents = [encode_document(action, origin) for action in outcome.actions]
        if not documents:
            return
        result = await write_all(
            self.sink, documents, policy=self.policy, stop=self.stop, max_attempts=3
        )
        self.totals.indexed += result.acknowledged
        lost = len(result.refused) + len(result.retry)
        if lost:
            log.warning("%d service-map documents of ended waits not written", lost)

    async def _one(self, tp: TopicPartition, message: ConsumerRecord) -> None:
        where = f"{tp.topic}/{tp.partition}/{message.offset}"
        try:
            record = decode_dead_letter(message.value or b"")
        except Exception as error:  # not a dead letter at all: nothing to replay
            log.warning("%s: not a dead letter (%s); skipped", where, describe(error))
            self.totals.skipped += 1
            await self._commit(tp, message.offset)
            return
        if not self.selection.selects(record):
            self.totals.skipped += 1
            await self._commit(tp, message.offset)
            return
        self.totals.replayed += 1
        if self.dry_run:
            line = (
                f"would replay {where}: stage {record.stage}, from "
                f"{record.topic}/{record.partition}/{record.offset}: {record.reason}"
            )
            self.totals.selected.append(line)
            self.show(line)
            return
        outcome = reprocess(record, self.processor_for)
        again = [] if outcome.dead_letter is None else [outcome.dead_letter]
        if outcome.documents:
            again += await self._write(outcome.documents, record)
        for dead_letter in again:
            await self._send(dead_letter)
            log.info(
                "%s: dead-lettered again (%s): %s", where, dead_letter.stage, dead_letter.reason
            )
        await self._commit(tp, message.offset)

    async def _write(
        self, documents: list[Document], record: DeadLetterRecord
    ) -> list[DeadLetterRecord]:
        assert self.sink is not None
        result = await write_all(
            self.sink, documents, policy=self.policy, stop=self.stop, max_attempts=self.max_attempts
        )
        self.totals.indexed += result.acknowledged
        if result.retry:
            raise ReplayError(
                f"the store did not take {len(result.retry)} documents ({result.retry_reason}); "
                f"{record.topic}/{record.partition}/{record.offset} is not committed"
            )
        return [_refused(refusal, record) for refusal in result.refused]

    async def _send(self, record: DeadLetterRecord) -> None:
        assert self.dead_letters is not None
        for attempt in range(self.max_attempts):
            try:
                await self.dead_letters.send(record)
            except Exception as error:
                reason = describe(error)
                if attempt + 1 == self.max_attempts or not await self.stop.sleep(
                    self.policy.delay(attempt)
                ):
                    raise ReplayError(f"dead-letter write failed: {reason}") from error
                log.warning("dead-letter write failed (%s); retrying", reason)
            else:
                self.totals.dead_lettered += 1
                return

    async def _commit(self, tp: TopicPartition, offset: int) -> None:
        if not self.dry_run:
            await self.consumer.commit({tp: offset + 1})
