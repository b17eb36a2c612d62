"""The Kafka side: a group consumer that commits only what was acknowledged, and the producer.

Offsets are committed explicitly, after a batch's documents are acknowledged
by OpenSearch or written to the dead-letter topic. The rebalance listener
commits what was acknowledged but not yet committed before partitions are
taken away, and tells the daemon which partitions it lost.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterable
from typing import Any

from aiokafka import (
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import KafkaError

from pipeline.connection_config import KafkaConfig

__all__ = [
    "AcknowledgedOffsets",
    "CommitOnRevoke",
    "make_consumer",
    "make_producer",
    "produce_values",
    "read_from_start",
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


def make_consumer(settings: KafkaConfig) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=settings.session_timeout_ms,
        heartbeat_interval_ms=settings.heartbeat_interval_ms,
        max_poll_records=settings.max_batch_records,
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


class AcknowledgedOffsets:
    """Next offsets whose records are fully handled but not yet committed."""

    def __init__(self) -> None:
        self.pending: dict[TopicPartition, int] = {}

    def acknowledge(self, offsets: dict[TopicPartition, int]) -> None:
        for partition, offset in offsets.items():
            self.pending[partition] = max(offset, self.pending.get(partition, 0))

    async def commit(
        self, consumer: AIOKafkaConsumer, partitions: Iterable[TopicPartition] | None = None
    ) -> None:
        chosen = set(self.pending) if partitions is None else set(partitions) & set(self.pending)
        offsets = {partition: self.pending[partition] for partition in chosen}
        if not offsets:
            return
        await consumer.commit(offsets)
        for partition in offsets:
            if self.pending.get(partition) == offsets[partition]:
                del self.pending[partition]


class CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: AIOKafkaConsumer, acknowledged: AcknowledgedOffsets) -> None:
        self.consumer = consumer
        self.acknowledged = acknowledged
        self.revoked: set[TopicPartition] = set()
        self.assigned_once = False
        self.paused_all = False

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        try:
            await self.acknowledged.commit(self.consumer, revoked)
        except KafkaError as error:  # the new owner re-reads them: at-least-once, same _ids
            log.warning("commit on revoke failed: %s", error)
        self.revoked.update(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.assigned_once = True
        if self.paused_all and assigned:
            self.consumer.pause(*assigned)
