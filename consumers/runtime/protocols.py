"""The contracts the batch loop is written against: Source, Sink, DeadLetters, Pipeline.

The loop never sees aiokafka or opensearch-py. A real source (Kafka) and a
real sink (OpenSearch) implement these, and so do the in-package doubles of
:mod:`consumers.testing`, which is what lets every path of the loop (pause,
rewind, revoke during a write, commit failure, deadline, poison record) be a
unit test that runs in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol, runtime_checkable

from consumers.kafka.dead_letters import DeadLetterRecord
from pipeline.process import Outcome

__all__ = [
    "DeadLetters",
    "Document",
    "Partition",
    "Pipeline",
    "PreparingSink",
    "Processor",
    "Record",
    "Refusal",
    "Sink",
    "Source",
    "Waiting",
    "WriteResult",
]


class Partition(NamedTuple):
    """A topic partition; equal to (and hashed as) aiokafka's ``TopicPartition``."""

    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class Record:
    """One consumed record: where it sits and its value."""

    topic: str
    partition: int
    offset: int
    value: bytes

    @property
    def where(self) -> Partition:
        return Partition(self.topic, self.partition)


# Read-only by convention, not frozen: one per event, and a frozen dataclass's generated
# __init__ costs three times this one (bench core).
@dataclass(slots=True, init=False)
class Document:
    """One document write, encoded once: ``body`` is its two ``_bulk`` NDJSON lines."""

    index: str
    id: str
    body: bytes
    origin: Record

    def __init__(self, index: str, id: str, body: bytes, origin: Record) -> None:
        self.index = index
        self.id = id
        self.body = body
        self.origin = origin


class Refusal(NamedTuple):
    """A document the store refused for good, with the store's status and reason."""

    document: Document
    status: int
    reason: str


@dataclass(slots=True)
class WriteResult:
    """The answer to one write attempt: every document is in exactly one of the three."""

    acknowledged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    retry: list[Document] = field(default_factory=list)
    retry_reason: str = ""


class Source(Protocol):
    """Where records come from (a Kafka consumer group member).

    - ``fetch`` returns a batch bounded in records and in bytes (at least one
      record when any is there); an empty list after ``timeout_s`` when none
      is, and always while paused (a paused source still polls, so it stays in
      its group).
    - ``give_back`` returns records the loop took but did not handle; they come
      first in the next ``fetch``.
    - ``rewind`` makes an abandoned batch be read again, on the partitions the
      source still owns; the others are re-read by their new owner.
    - ``epochs`` numbers each assigned partition's assignment: a partition
      revoked and assigned again (an eager rebalance does that to every
      partition) gets a new number, because it is read again from its
      committed offset; records fetched under the old number are no longer
      this member's to write or commit.
    - ``commit`` stores next offsets only for partitions still assigned; a
      failure is logged and answered ``False``, never raised: the records are
      then redelivered, which the document ids make harmless.
    """

    @property
    def assignment(self) -> frozenset[Partition]: ...

    @property
    def epochs(self) -> Mapping[Partition, int]: ...

    async def fetch(self, timeout_s: float) -> list[Record]: ...

    def give_back(self, records: Sequence[Record]) -> None: ...

    def rewind(self, records: Sequence[Record]) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    async def commit(self, offsets: dict[Partition, int]) -> bool: ...

    def lag(self) -> dict[Partition, int]: ...


class Sink(Protocol):
    """Where documents go. ``write`` is one attempt; the loop owns retries and their timing.

    Each document is acknowledged, refused for good (a dead letter with the
    store's reason) or to be retried (the store is saturated or away).
    ``write`` raises only for what is not about the documents (a bug).
    """

    async def write(self, documents: Sequence[Document]) -> WriteResult: ...


@runtime_checkable
class PreparingSink(Sink, Protocol):
    """A sink with per-document work it can do before a write, in the loop's worker thread.

    ``prepare`` is pure (no I/O, any thread) and returns the same documents, in
    order; ``write`` given that very list skips the work. The loop calls it once
    a batch is processed, so the event loop only sends.
    """

    def prepare(self, documents: list[Document]) -> list[Document]: ...


class DeadLetters(Protocol):
    """The dead-letter topic. ``send`` is one attempt that waits for the broker's ack.

    It raises :class:`consumers.runtime.errors.DeliveryError` with ``retriable``
    set when the same write may succeed later (broker away) and clear when it
    never will (too large, not authorised); the loop decides what follows.
    """

    async def send(self, record: DeadLetterRecord) -> None: ...


class Processor(Protocol):
    """The pure core's door for one record value (see :mod:`pipeline.process`)."""

    def process(self, value: bytes | None) -> Outcome: ...


@runtime_checkable
class Waiting(Protocol):
    """A processor that holds state across records with bounded waits (the trace pipeline):
    ``flush`` yields what the waits that ran out produce (``everything``: ends them all, at
    shutdown), ``waiting`` says whether any wait."""

    def flush(self, everything: bool = False) -> Outcome: ...

    def waiting(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Pipeline:
    """Input topics, the core that turns their records into documents, and the sink they go to.

    Logs and traces are two pipelines on one source and one loop.
    """

    name: str
    topics: tuple[str, ...]
    processor: Processor
    sink: Sink
