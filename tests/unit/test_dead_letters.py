"""Dead letters: the Avro record round-trips, and a failed write is retried, never skipped."""

from __future__ import annotations

from typing import Any

from aiokafka.errors import KafkaConnectionError

from consumers.kafka.dead_letters import (
    DeadLetterRecord,
    DeadLetterWriter,
    decode_dead_letter,
    encode_dead_letter,
)

RECORD = DeadLetterRecord(
    original=b"\x1f\x8bbroken",
    topic="cwl-logs",
    partition=3,
    offset=1234,
    stage="decode",
    reason="truncated gzip data",
    time_ms=1_795_000_000_123,
)


def test_round_trip_keeps_every_field() -> None:
    assert decode_dead_letter(encode_dead_letter(RECORD)) == RECORD
    indexed = DeadLetterRecord(
        b"{}", "t", 0, 1, "index", "HTTP 400: mapper_parsing_exception", 5, "1.0", "id-1", "cwl-x"
    )
    assert decode_dead_letter(encode_dead_letter(indexed)) == indexed


class FlakyProducer:
    """Stands in for a broker that refuses the first writes (tansu cannot be made to)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes, **kwargs: Any) -> None:
        if self.failures:
            self.failures -= 1
            raise KafkaConnectionError("broker away")
        self.sent.append((topic, value, key))


async def no_sleep(seconds: float) -> None:
    return None


async def test_failed_write_is_retried_and_counted_until_it_lands() -> None:
    producer = FlakyProducer(failures=3)
    errors: list[int] = []
    writer = DeadLetterWriter(
        producer,  # type: ignore[arg-type]
        "dlq",
        on_error=lambda: errors.append(1),
        sleep=no_sleep,
    )
    assert await writer.send(RECORD) is True
    assert len(errors) == 3
    ((topic, value, key),) = producer.sent
    assert (topic, key) == ("dlq", b"cwl-logs/3/1234")
    assert decode_dead_letter(value) == RECORD


async def test_a_stop_request_ends_the_retries_without_claiming_success() -> None:
    producer = FlakyProducer(failures=10**6)
    writer = DeadLetterWriter(
        producer,  # type: ignore[arg-type]
        "dlq",
        should_stop=lambda: True,
        sleep=no_sleep,
    )
    assert await writer.send(RECORD) is False
    assert producer.sent == []
