"""The Kafka side: the group consumer as a Source, the producer, and topic helpers.

Offsets are committed explicitly, after a batch's documents are acknowledged
by OpenSearch or written to the dead-letter topic, and only for partitions
the consumer still owns.
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeVar

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError

from consumers.config.connections import KafkaConfig
from consumers.runtime.errors import describe
from consumers.runtime.protocols import Partition, Record

__all__ = [
    "KafkaSource",
    "Startable",
    "make_consumer",
    "make_producer",
    "produce_values",
    "read_from_start",
    "started",
]

log = logging.getLogger(__name__)


def _security(settings: KafkaConfig) -> dict[str, Any]:
    options: dict[str, Any] = {"security_protocol": settings.security_protocol}
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        context = ssl.create_default_context(cafile=settings.ssl_cafile)
        if settings.ssl_certfile:
            context.load_cert_chain(settings.ssl_certfile, settings.ssl_keyfile)
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism or "PLAIN"
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.value if settings.sasl_password else None
        )
    return options


class Startable(Protocol):
    """An aiokafka client: a consumer, a producer, an admin client."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=Startable)


async def started(client: C) -> C:
    """``client`` started, or stopped again when its start fails: a failed start leaves
    connections and tasks behind, and is not restartable (the caller makes a new client)."""
    try:
        await client.start()
    except BaseException:
        with contextlib.suppress(Exception):
            await client.stop()
        raise
    return client


def make_consumer(settings: KafkaConfig) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_records=settings.max_batch_records,
        # what one fetch may hold in memory: a batch's worth, and 1 MiB per partition at most
        fetch_max_bytes=settings.max_batch_bytes,
        max_partition_fetch_bytes=min(1024 * 1024, settings.max_batch_bytes),
        **_security(settings),
    )


def make_producer(settings: KafkaConfig) -> AIOKafkaProducer:
    # acks=all: a dead letter counts as written only once every in-sync replica has it.
    return AIOKafkaProducer(
        bootstrap_servers=settings.bootstrap_servers,
        acks="all",
        enable_idempotence=False,
        **_security(settings),
    )


async def produce_values(
    producer: AIOKafkaProducer, topic: str, values: Iterable[bytes], partitions: int | None = None
) -> dict[TopicPartition, int]:
    """Send and wait for each value (round-robin over ``partitions`` when given).

    Returns the next offset per partition: what a consumer has read once it
    commits that far (tansu's ``end_offsets`` cannot be trusted for this).
    """
    ends: dict[TopicPartition, int] = {}
    for index, value in enumerate(values):
        partition = index % partitions if partitions else None
        meta = await producer.send_and_wait(topic, value, partition=partition)
        where = TopicPartition(topic, meta.partition)
        ends[where] = max(ends.get(where, 0), meta.offset + 1)
    return ends


async def read_from_start(
    bootstrap: str,
    topic: str,
    count: int,
    *,
    partitions: int = 1,
    timeout_s: float = 10.0,
    linger_ms: int = 0,
) -> list[ConsumerRecord]:
    """Up to ``count`` records of ``topic`` from offset 0, without joining a group.

    ``linger_ms`` polls once more after ``count`` is reached, to see records beyond it.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for items in (await consumer.getmany(timeout_ms=500)).values():
                records += items
        if linger_ms:
            for items in (await consumer.getmany(timeout_ms=linger_ms)).values():
                records += items
        return records
    finally:
        await consumer.stop()


class KafkaSource:
    """The :class:`consumers.runtime.protocols.Source` on an aiokafka group consumer.

    Batches are bounded in records and in value bytes; what a fetch brought
    beyond the bound waits in a per-partition carry-over (dropped when the
    partition is revoked or rewound). Offsets acknowledged but not yet
    committed are committed before partitions are taken away, and again with
    the next commit when a commit fails.
    """

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        topics: Sequence[str],
        *,
        max_records: int,
        max_bytes: int,
    ) -> None:
        self.consumer = consumer
        self.topics = tuple(topics)
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.assigned_once = False
        self._paused = False
        self._carry: dict[Partition, deque[Record]] = {}
        self._pending: dict[Partition, int] = {}
        self._handled: dict[Partition, int] = {}  # the next offset not yet acknowledged
        self._epochs: dict[Partition, int] = {}
        self._assignments = 0
        self._listener = _Rebalance(self)

    async def start(self) -> None:
        self.consumer.subscribe(list(self.topics), listener=self._listener)
        await self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()

    @property
    def assignment(self) -> frozenset[Partition]:
        return frozenset(Partition(tp.topic, tp.partition) for tp in self.consumer.assignment())

    @property
    def epochs(self) -> dict[Partition, int]:
        """Per assigned partition, which of this member's assignments gave it."""
        return {where: self._epochs.get(where, 0) for where in self.assignment}

    @property
    def paused(self) -> bool:
        return self._paused

    async def fetch(self, timeout_s: float) -> list[Record]:
        if self._paused:  # keep polling (group membership); stray records wait for the resume
            self._stash(await self.consumer.getmany(timeout_ms=int(timeout_s * 1000)))
            return []
        if not any(self._carry.values()):
            self._stash(
                await self.consumer.getmany(
                    timeout_ms=int(timeout_s * 1000), max_records=self.max_records
                )
            )
        return self._take()

    def _stash(self, fetched: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        for tp, records in fetched.items():
            if not records:
                continue
            queue = self._carry.setdefault(Partition(tp.topic, tp.partition), deque())
            queue.extend(Record(r.topic, r.partition, r.offset, r.value or b"") for r in records)

    def _take(self) -> list[Record]:
        batch: list[Record] = []
        size = 0
        progress = True
        while progress and len(batch) < self.max_records:
            progress = False
            for where, queue in self._carry.items():  # round-robin: no partition starves
                if not queue or len(batch) >= self.max_records:
                    continue
                if batch and size + len(queue[0].value) > self.max_bytes:
                    return batch
                record = queue.popleft()
                batch.append(record)
                size += len(record.value)
                self._handled.setdefault(where, record.offset)
                progress = True
        return batch

    def give_back(self, records: Sequence[Record]) -> None:
        for record in reversed(records):
            self._carry.setdefault(record.where, deque()).appendleft(record)

    def rewind(self, records: Sequence[Record]) -> None:
        first: dict[Partition, int] = {}
        for record in records:
            first[record.where] = min(first.get(record.where, record.offset), record.offset)
        assigned = self.assignment
        for where, offset in first.items():
            if where in assigned:
                self._carry.pop(where, None)
                self.consumer.seek(TopicPartition(*where), offset)

    def pause(self) -> None:
        self._paused = True
        self.consumer.pause(*self.consumer.assignment())

    def resume(self) -> None:
        self._paused = False
        self.consumer.resume(*self.consumer.assignment())

    async def commit(self, offsets: dict[Partition, int]) -> bool:
        for where, offset in offsets.items():
            self._pending[where] = max(offset, self._pending.get(where, 0))
            self._handled[where] = max(offset, self._handled.get(where, 0))
        return await self._commit_pending(self.assignment)

    async def _commit_pending(self, partitions: Iterable[Partition]) -> bool:
        chosen = {where: self._pending[where] for where in partitions if where in self._pending}
        if not chosen:
            return True
        try:
            await self.consumer.commit({TopicPartition(*w): o for w, o in chosen.items()})
        except KafkaError as error:  # redelivered later; the document ids make it harmless
            log.warning("commit failed, the records will be read again: %s", describe(error))
            return False
        for where, offset in chosen.items():
            if self._pending.get(where) == offset:
                del self._pending[where]
        return True

    def lag(self) -> dict[Partition, int]:
        """High watermark minus the next offset not yet acknowledged, per assigned partition
        (records fetched and in flight still count: a batch stuck on the store shows)."""
        lags = {}
        for tp in self.consumer.assignment():
            where = Partition(tp.topic, tp.partition)
            high = self.consumer.highwater(tp)
            queue = self._carry.get(where)
            position = self._handled.get(where, queue[0].offset if queue else None)
            if high is not None and position is not None:
                lags[where] = max(0, high - position)
        return lags

    async def _revoked(self, revoked: list[TopicPartition]) -> None:
        lost = [Partition(tp.topic, tp.partition) for tp in revoked]
        await self._commit_pending(lost)
        for where in lost:
            self._carry.pop(where, None)
            self._pending.pop(where, None)
            self._handled.pop(where, None)
            self._epochs.pop(where, None)

    def _assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned_once = True
        self._assignments += 1
        for tp in assigned:
            self._epochs[Partition(tp.topic, tp.partition)] = self._assignments
        if self._paused and assigned:
            self.consumer.pause(*assigned)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, source: KafkaSource) -> None:
        self.source = source

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self.source._revoked(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.source._assigned(assigned)
