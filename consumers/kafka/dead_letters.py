"""The dead-letter topic: what could not be indexed, in Avro, with where it came from and why.

``DeadLetterWriter.send`` returns only once the broker has acknowledged the
message; a failed write is retried with backoff (counted as a dead-letter
error) and never skipped, so the consumer never commits past a record whose
dead letter is not safely written.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import fastavro
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from consumers.resources import DEAD_LETTER_SCHEMA

__all__ = ["DeadLetterRecord", "DeadLetterWriter", "decode_dead_letter", "encode_dead_letter"]

SCHEMA_FILE = DEAD_LETTER_SCHEMA


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
            "reason": record.reason,
            "time": record.time_ms,
            "version": record.version,
            "document_id": record.document_id,
            "index": record.index,
        },
    )
    return out.getvalue()


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
    )


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


class DeadLetterWriter:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        *,
        on_error: Callable[[], None] | None = None,
        should_stop: Callable[[], bool] = lambda: False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_backoff_s: float = 30.0,
    ) -> None:
        self.producer = producer
        self.topic = topic
        self._on_error = on_error or (lambda: None)
        self._should_stop = should_stop
        self._sleep = sleep
        self._max_backoff_s = max_backoff_s

    async def send(self, record: DeadLetterRecord) -> bool:
        """Write and wait for the ack; False only when asked to stop before it succeeded."""
        value = encode_dead_letter(record)
        key = f"{record.topic}/{record.partition}/{record.offset}".encode()
        attempt = 0
        while True:
            try:
                await self.producer.send_and_wait(
                    self.topic, value, key=key, timestamp_ms=int(time.time() * 1000)
                )
                return True
            except KafkaError:
                self._on_error()
                if self._should_stop():
                    return False
                await self._sleep(random.uniform(0, min(self._max_backoff_s, 0.2 * 2**attempt)))
                attempt += 1
