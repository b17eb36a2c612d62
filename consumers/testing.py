"""In-package doubles of the runtime's components, with the same contracts as the real ones.

Like ``bytewax.testing`` and quix-streams' ``ListSink``: a memory source with
scripted rebalances and commit failures, a sink with scripted refusals,
outages and slow writes, and a dead-letter writer that can fail. They let
every path of :class:`consumers.runtime.batch_loop.BatchLoop` run as a unit
test in milliseconds; the real Kafka and OpenSearch stay the integration tier.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from consumers.kafka.dead_letters import DeadLetterRecord, fit_to_size
from consumers.runtime.errors import DeliveryError
from consumers.runtime.protocols import Document, Partition, Record, Refusal, WriteResult

__all__ = ["MemoryDeadLetters", "MemorySource", "ScriptedSink", "SinkStep"]


class MemorySource:
    """Partitions held in memory; the test plays the group coordinator.

    ``revoke`` and ``assign`` change the assignment at any moment (also from
    inside a sink's write, to model a rebalance during a slow write); an
    assigned partition gets a new epoch and is read again from its committed
    offset, as Kafka does. ``fail_commits`` makes the next commits fail as a
    coordinator change does. ``commits`` and ``fetched`` record every commit
    and every non-empty batch handed out, in order.
    """

    def __init__(
        self,
        records: Sequence[Record] = (),
        *,
        max_records: int = 500,
        max_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.log: dict[Partition, list[Record]] = {}
        for record in records:
            self.log.setdefault(record.where, []).append(record)
        self._assignment = set(self.log)
        self._epochs: dict[Partition, int] = {p: 0 for p in self.log}
        self._next_epoch = 1
        self.position: dict[Partition, int] = {p: 0 for p in self.log}
        self.committed: dict[Partition, int] = {}
        self.acknowledged: dict[Partition, int] = {}
        self.commit_calls = 0
        self.commits: list[dict[Partition, int]] = []
        self.fetched: list[list[Record]] = []
        self.fail_commits = 0
        self.paused = False
        self.fetch_error: Exception | None = None
        self._carry: deque[Record] = deque()

    def append(self, record: Record) -> None:
        self.log.setdefault(record.where, []).append(record)
        self.position.setdefault(record.where, 0)
        self._assignment.add(record.where)
        self._epochs.setdefault(record.where, 0)

    @property
    def assignment(self) -> frozenset[Partition]:
        return frozenset(self._assignment)

    @property
    def epochs(self) -> dict[Partition, int]:
        return dict(self._epochs)

    def revoke(self, *partitions: Partition) -> None:
        for partition in partitions:
            self._assignment.discard(partition)
            self._epochs.pop(partition, None)
        self._carry = deque(r for r in self._carry if r.where in self._assignment)

    def assign(self, *partitions: Partition) -> None:
        for partition in partitions:
            self._assignment.add(partition)
            self._epochs[partition] = self._next_epoch
            self.position[partition] = self.committed.get(partition, 0)
        self._next_epoch += 1

    async def fetch(self, timeout_s: float) -> list[Record]:
        await asyncio.sleep(0)
        batch = self._fetch()
        if batch:
            self.fetched.append(batch)
        return batch

    def _fetch(self) -> list[Record]:
        if self.fetch_error is not None:
            error, self.fetch_error = self.fetch_error, None
            raise error
        if self.paused:
            return []
        batch: list[Record] = []
        size = 0
        while self._carry and len(batch) < self.max_records:
            if batch and size + len(self._carry[0].value) > self.max_bytes:
                return batch
            record = self._carry.popleft()
            batch.append(record)
            size += len(record.value)
        for partition in sorted(self._assignment):
            records = self.log.get(partition, [])
            while self.position[partition] < len(records) and len(batch) < self.max_records:
                record = records[self.position[partition]]
                if batch and size + len(record.value) > self.max_bytes:
                    return batch
                batch.append(record)
                size += len(record.value)
                self.position[partition] += 1
        return batch

    def give_back(self, records: Sequence[Record]) -> None:
        self._carry.extendleft(reversed([r for r in records if r.where in self._assignment]))

    def rewind(self, records: Sequence[Record]) -> None:
        """Seek each partition to the first offset given, as the Kafka source does (not to the
        lowest offset ever given: two rewinds of one partition leave it at the second)."""
        first: dict[Partition, int] = {}
        for record in records:
            first[record.where] = min(first.get(record.where, record.offset), record.offset)
        for where, offset in first.items():
            if where in self._assignment:
                self.position[where] = offset
        self._carry = deque(r for r in self._carry if r.where not in first)

    def pause(self) -> None:
        self.paused = True

    def resume(self) -> None:
        self.paused = False

    async def commit(self, offsets: dict[Partition, int]) -> bool:
        self.commit_calls += 1
        self.commits.append(dict(offsets))
        for partition, offset in offsets.items():
            self.acknowledged[partition] = max(offset, self.acknowledged.get(partition, 0))
        if self.fail_commits:
            self.fail_commits -= 1
            return False
        for partition, offset in offsets.items():
            if partition in self._assignment:
                self.committed[partition] = max(offset, self.committed.get(partition, 0))
        return True

    def lag(self) -> dict[Partition, int]:
        """Records not yet acknowledged (in flight ones count, as with Kafka)."""
        return {
            p: len(self.log.get(p, [])) - self.acknowledged.get(p, self.committed.get(p, 0))
            for p in self._assignment
        }

    def drained(self) -> bool:
        """Every record of every partition committed."""
        return all(self.committed.get(p, 0) >= len(records) for p, records in self.log.items())


@dataclass(frozen=True, slots=True)
class SinkStep:
    """What one write attempt does: refuse everything with ``status`` ("connection" for a
    connection error, 429 or 5xx), take ``seconds`` first, or run ``action`` first."""

    status: int | str | None = None
    seconds: float = 0.0
    action: Callable[[], None] | None = None


@dataclass
class ScriptedSink:
    """A store in memory: ``script`` plays one step per write; then every write succeeds.

    ``refuse`` maps document ids to (status, reason) the store refuses for good;
    ``acknowledged`` lists every document it acknowledged, in order, repeats included.
    """

    script: list[SinkStep] = field(default_factory=list)
    refuse: dict[str, tuple[int, str]] = field(default_factory=dict)
    stored: dict[str, bytes] = field(default_factory=dict)
    acknowledged: list[Document] = field(default_factory=list)
    writes: int = 0
    forever: SinkStep | None = None  # the step played once the script is done (None: succeed)
    before_write: Callable[[Sequence[Document]], Awaitable[None]] | None = None

    async def write(self, documents: Sequence[Document]) -> WriteResult:
        self.writes += 1
        step = self.script.pop(0) if self.script else self.forever
        if self.before_write is not None:
            await self.before_write(documents)
        if step is not None:
            if step.seconds:
                await asyncio.sleep(step.seconds)
            if step.action is not None:
                step.action()
            if step.status is not None:
                return WriteResult(retry=list(documents), retry_reason=f"scripted {step.status}")
        result = WriteResult()
        for document in documents:
            if document.id in self.refuse:
                status, reason = self.refuse[document.id]
                result.refused.append(Refusal(document, status, reason))
            else:
                self.stored[document.id] = document.body
                self.acknowledged.append(document)
                result.acknowledged += 1
        return result


class MemoryDeadLetters:
    """The dead-letter topic in memory; ``fail`` next sends fail (``retriable`` as given).

    ``max_bytes`` plays the topic's message size limit: an encoded record
    larger than it is refused for good, as Kafka refuses it.
    """

    def __init__(self, *, max_bytes: int | None = None) -> None:
        self.records: list[DeadLetterRecord] = []
        self.fail = 0
        self.retriable = True
        self.attempts = 0
        self.max_bytes = max_bytes

    async def send(self, record: DeadLetterRecord) -> None:
        self.attempts += 1
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise DeliveryError("scripted dead-letter failure", retriable=self.retriable)
        if self.max_bytes is not None:
            record = fit_to_size(record, self.max_bytes)
        self.records.append(record)
