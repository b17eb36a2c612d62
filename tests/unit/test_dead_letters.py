"""Dead letters: the Avro record round-trips, a too-large one keeps its head, a failed write
says whether it may be tried again."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError

from consumers.kafka.dead_letters import (
    DeadLetterRecord,
    KafkaDeadLetters,
    decode_dead_letter,
    encode_dead_letter,
    fit_to_size,
)
from consumers.runtime.errors import DeliveryError

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


class OneShotProducer:
    """Stands in for a broker that answers one way (tansu cannot be made to refuse)."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, bytes, bytes]] = []

    async def send_and_wait(self, topic: str, value: bytes, key: bytes, **kwargs: Any) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append((topic, value, key))


async def test_a_written_dead_letter_is_keyed_by_where_it_came_from() -> None:
    producer = OneShotProducer()
    await KafkaDeadLetters(producer, "dlq").send(RECORD)  # type: ignore[arg-type]
    ((topic, value, key),) = producer.sent
    assert (topic, key) == ("dlq", b"cwl-logs/3/1234")
    assert decode_dead_letter(value) == RECORD


@pytest.mark.parametrize(
    ("error", "retriable"),
    [(KafkaConnectionError("broker away"), True), (MessageSizeTooLargeError(), False)],
)
async def test_a_failed_write_says_whether_it_may_be_tried_again(
    error: Exception, retriable: bool
) -> None:
    writer = KafkaDeadLetters(OneShotProducer(error), "dlq")  # type: ignore[arg-type]
    with pytest.raises(DeliveryError) as raised:
        await writer.send(RECORD)
    assert raised.value.retriable is retriable


async def test_an_original_over_the_topic_limit_is_cut_to_fit_and_flagged() -> None:
    producer = OneShotProducer()
    big = DeadLetterRecord(b"y" * 3_000_000, "t", 0, 7, "index", "too big", 1)
    await KafkaDeadLetters(producer, "dlq", max_bytes=1_000_000).send(big)  # type: ignore[arg-type]
    ((_, value, _),) = producer.sent
    assert len(value) <= 1_000_000
    written = decode_dead_letter(value)
    assert written.original_truncated and written.original_size == 3_000_000
    assert big.original.startswith(written.original) and len(written.original) > 900_000


def test_a_record_that_fits_is_left_alone() -> None:
    assert fit_to_size(RECORD, 1_000_000) is RECORD


def test_a_huge_reason_is_cut_too() -> None:
    record = DeadLetterRecord(b"x", "t", 0, 7, "decode", "r" * 100_000, 1)
    fitted = fit_to_size(record, 1_000_000)
    assert len(fitted.reason) < 5000 and fitted.reason.endswith("[reason truncated]")


def test_a_reason_quoting_a_lone_surrogate_is_still_encodable() -> None:
    record = DeadLetterRecord(b"x", "t", 0, 7, "process", "bad \ud800 text", 1)
    assert decode_dead_letter(encode_dead_letter(record)).reason == "bad \\ud800 text"
