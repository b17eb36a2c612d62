"""The dead-letter topic: what could not be indexed, in Avro, with where it came from and why.

:class:`KafkaDeadLetters` makes one attempt per ``send`` and waits for the
broker's acknowledgement; the batch loop retries it under the shared policy
and never commits past a dead letter that is not written. A record whose
original would not fit the topic's message size keeps the head of the
original and says so (``original_truncated``, ``original_size``), so a huge
refused document can never wedge the pipeline.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import fastavro
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from consumers.resources import DEAD_LETTER_SCHEMA
from consumers.runtime.errors import DeliveryError, describe, is_retriable

__all__ = [
    "DEFAULT_MAX_DEAD_LETTER_BYTES",
    "SCHEMA_HEADER",
    "SCHEMA_VERSION",
    "DeadLetterRecord",
    "KafkaDeadLetters",
    "decode_dead_letter",
    "encode_dead_letter",
    "fit_to_size",
]

#: Kafka's default ``max.message.bytes`` and the producer's ``max_request_size`` are 1 MiB;
#: the record, its key and the batch overhead must all fit under it.
DEFAULT_MAX_DEAD_LETTER_BYTES = 1_000_000
_MAX_REASON_CHARS = 4096

SCHEMA_FILE = DEAD_LETTER_SCHEMA
#: the schema's ``schema_version``, sent as the Kafka header ``schema-version`` of every dead
#: letter; 2 added the stage ``trace`` (appended, so version 1 records read unchanged)
SCHEMA_VERSION = 2
SCHEMA_HEADER = "schema-version"


def _version() -> str:
    try:
        return version("cwl-pipeline")
    except PackageNotFoundError:
        return "unknown"


VERSION = _version()


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    original: bytes
    topic: str
    partition: int
    offset: int
    stage: str
    reason: str
    time_ms: int
    version: str = VERSION
    document_id: str | None = None
    index: str | None = None
    original_size: int | None = None  # set when ``original`` holds only the head
    original_truncated: bool = False


@cache
def _schema() -> Any:
    return fastavro.parse_schema(orjson.loads(SCHEMA_FILE.read_bytes()))


def encode_dead_letter(record: DeadLetterRecord) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(
        out,
        _schema(),
        {
            "original": record.original,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "stage": record.stage,
            "reason": _text(record.reason),
            "time": record.time_ms,
            "version": record.version,
            "document_id": None if record.document_id is None else _text(record.document_id),
            "index": record.index,
            "original_size": record.original_size,
            "original_truncated": record.original_truncated,
        },
    )
    return out.getvalue()


def _text(value: str) -> str:
    """UTF-8-safe text: a lone surrogate (from the very input that failed) is escaped."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def decode_dead_letter(data: bytes) -> DeadLetterRecord:
    raw: Any = fastavro.schemaless_reader(io.BytesIO(data), _schema(), None)
    moment = raw["time"]
    time_ms = round(moment.timestamp() * 1000) if isinstance(moment, datetime) else int(moment)
    return DeadLetterRecord(
        original=raw["original"],
        topic=raw["topic"],
        partition=raw["partition"],
        offset=raw["offset"],
        stage=raw["stage"],
        reason=raw["reason"],
        time_ms=time_ms,
        version=raw["version"],
        document_id=raw["document_id"],
        index=raw["index"],
        original_size=raw.get("original_size"),
        original_truncated=bool(raw.get("original_truncated", False)),
    )


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def fit_to_size(record: DeadLetterRecord, max_bytes: int) -> DeadLetterRecord:
    """The record, with its reason and original cut so that its encoding fits ``max_bytes``."""
    if len(record.reason) > _MAX_REASON_CHARS:
        record = replace(record, reason=record.reason[:_MAX_REASON_CHARS] + " [reason truncated]")
    encoded = len(encode_dead_letter(record))
    if encoded <= max_bytes:
        return record
    size = len(record.original) if record.original_size is None else record.original_size
    keep = max(0, len(record.original) - (encoded - max_bytes) - 16)  # varint growth slack
    return replace(
        record, original=record.original[:keep], original_size=size, original_truncated=True
    )


class KafkaDeadLetters:
    """The dead-letter topic on a producer: one acknowledged write per ``send``."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        max_bytes: int = DEFAULT_MAX_DEAD_LETTER_BYTES,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self.max_bytes = max_bytes

    async def send(self, record: DeadLetterRecord) -> None:
        """Write and wait for the ack; :class:`DeliveryError` says whether to try again."""
        value = encode_dead_letter(fit_to_size(record, self.max_bytes))
        key = f"{record.topic}/{record.partition}/{record.offset}".encode()
        try:
            await self.producer.send_and_wait(
                self.topic,
                value,
                key=key,
                timestamp_ms=int(time.time() * 1000),
                headers=[(SCHEMA_HEADER, str(SCHEMA_VERSION).encode())],
            )
        except KafkaError as error:
            raise DeliveryError(describe(error), retriable=is_retriable(error)) from error
