"""The Kafka source numbers each assignment, so the loop can tell a partition assigned back."""

from __future__ import annotations

from aiokafka import TopicPartition

from consumers.kafka.source import KafkaSource
from consumers.runtime.protocols import Partition

TP0, TP1 = TopicPartition("cwl-logs", 0), TopicPartition("cwl-logs", 1)


class Consumer:
    """What the source asks of aiokafka's consumer for an assignment change."""

    def __init__(self) -> None:
        self.assigned: set[TopicPartition] = set()

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)


def source_on(consumer: Consumer) -> KafkaSource:
    return KafkaSource(consumer, ["cwl-logs"], max_records=10, max_bytes=1024)  # type: ignore[arg-type]


async def test_a_partition_assigned_back_after_a_revoke_has_a_new_epoch() -> None:
    consumer = Consumer()
    source = source_on(consumer)
    consumer.assigned = {TP0, TP1}
    source._assigned([TP0, TP1])
    before = source.epochs
    consumer.assigned = set()
    await source._revoked([TP0, TP1])  # an eager rebalance revokes everything
    assert source.epochs == {}
    consumer.assigned = {TP0}
    source._assigned([TP0])
    after = source.epochs
    assert set(after) == {Partition("cwl-logs", 0)}
    assert after[Partition("cwl-logs", 0)] != before[Partition("cwl-logs", 0)]
