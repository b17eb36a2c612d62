"""Helpers for tests against the real broker: topics, producing, committed offsets, reading back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.kafka.source import produce_values, read_from_start

T = TypeVar("T")
DEADLINE_S = 90.0


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


async def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, count, 1) for name, count in topics.items()])
    finally:
        await admin.close()


async def produce(
    bootstrap: str, topic: str, values: Sequence[bytes], *, partitions: int = 1
) -> dict[TopicPartition, int]:
    """Produce round-robin over partitions; returns the end offset (next offset) per partition."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        return await produce_values(producer, topic, values, partitions)
    finally:
        await producer.stop()


async def committed(
    bootstrap: str, group: str, partitions: Sequence[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's committed offsets, read with a consumer that does not join the group."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        found = {}
        for partition in partitions:
            found[partition] = await consumer.committed(partition) or 0
        return found
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str, count: int, *, partitions: int = 1) -> list[Any]:
    """The records of ``topic`` from the start: ``count`` of them, and any beyond arriving
    shortly after (duplicates a test must see)."""
    return await read_from_start(
        bootstrap, topic, count, partitions=partitions, timeout_s=DEADLINE_S, linger_ms=500
    )


async def eventually(
    check: Callable[[], Awaitable[T | None]],
    what: str,
    timeout: float = DEADLINE_S,
    watch: Sequence[asyncio.Task[Any]] = (),
) -> T:
    """Await ``check`` until it returns a truthy value (polling: the servers push nothing).

    A task in ``watch`` that ends meanwhile fails the wait at once, with its error.
    """
    deadline = time.monotonic() + timeout
    while True:
        for task in watch:
            if task.done():
                task.result()
                raise AssertionError(f"{task.get_name()} ended while waiting for {what}")
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)
