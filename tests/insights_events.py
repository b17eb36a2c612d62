"""Log events as the pipeline indexes them, for the Logs Insights conformance tests.

Every document goes through ``Processor.process`` from a gzipped subscription
delivery, exactly as the daemon builds it, so the tests exercise the discovered
fields (``@logStream``, ``@log``, ``@duration``...) over real indexed documents.
The expectation helpers here compute values a second way (``stamp`` formats a
millisecond time with ``datetime``; ``natural_key`` is an independent reading of
the documented sort algorithm).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from pipeline.config import config_from_mapping
from pipeline.process import Processor

ACCOUNT = "123456789012"
GROUP = "/aws/lambda/orders"
STREAM = "2019/07/02/[$LATEST]0123456789abcdef0123456789abcdef"
# 2019-07-02 04:35:21.530 UTC: the time the issue writes results in.
T0 = 1_562_042_121_530

_PROCESSOR = Processor(config_from_mapping({}))


@dataclass(frozen=True)
class Event:
    message: str
    timestamp: int = T0
    log_group: str = GROUP
    log_stream: str = STREAM


def documents(events: Iterable[Event]) -> list[dict[str, Any]]:
    """The indexed documents (``action.source``) of ``events``, in their order.

    Consecutive events of one log group and stream share a delivery, as
    CloudWatch batches them.
    """
    batches: list[tuple[str, str, list[Event]]] = []
    for event in events:
        if batches and batches[-1][0] == event.log_group and batches[-1][1] == event.log_stream:
            batches[-1][2].append(event)
        else:
            batches.append((event.log_group, event.log_stream, [event]))
    sources: list[dict[str, Any]] = []
    serial = 36_000_000_000_000_000
    for log_group, log_stream, batch in batches:
        delivery = {
            "messageType": "DATA_MESSAGE",
            "owner": ACCOUNT,
            "logGroup": log_group,
            "logStream": log_stream,
            "subscriptionFilters": ["all"],
            "logEvents": [
                {"id": str(serial + i), "timestamp": e.timestamp, "message": e.message}
                for i, e in enumerate(batch)
            ],
        }
        serial += len(batch)
        outcome = _PROCESSOR.process(gzip.compress(orjson.dumps(delivery)))
        assert outcome.dead_letter is None, outcome.dead_letter
        assert len(outcome.actions) == len(batch)
        sources.extend(action.source for action in outcome.actions)
    return sources


def spaced(*messages: str, start: int = T0, step: int = 1000, **where: str) -> list[Event]:
    """``messages`` as events ``step`` milliseconds apart from ``start``."""
    return [Event(m, start + i * step, **where) for i, m in enumerate(messages)]


def docs(*messages: str, start: int = T0, step: int = 1000, **where: str) -> list[dict[str, Any]]:
    return documents(spaced(*messages, start=start, step=step, **where))


def json_docs(*objects: dict[str, Any], start: int = T0, step: int = 1000) -> list[dict[str, Any]]:
    """One JSON message per object, so its keys become discovered fields."""
    return docs(*(orjson.dumps(o).decode() for o in objects), start=start, step=step)


def stamp(ms: int) -> str:
    """Insights' result form of a time: ``2019-07-02 04:35:21.530`` (UTC)."""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{ms % 1000:03d}"


def column(rows: list[dict[str, Any]], name: str) -> list[Any]:
    return [row.get(name) for row in rows]


_CHUNK = re.compile(r"\d+|[A-Za-z]+|[^\dA-Za-z]")


def natural_key(value: str) -> tuple[Any, ...]:
    """The documented ascending order of ``sort``, read independently of the
    implementation: non-number values first, chunked into digit runs, letter
    runs and single other characters; digit runs compare by length then value,
    other chunks (and a digit run against another kind) by Unicode; values of
    digits only come last, by numeric value."""
    if value.isdigit():
        return (1, int(value), value)
    keys = []
    for chunk in _CHUNK.findall(value):
        if chunk.isdigit():
            keys.append(_Chunk(chunk, digits=True))
        else:
            keys.append(_Chunk(chunk, digits=False))
    return (0, keys)


class _Chunk:
    __slots__ = ("digits", "text")

    def __init__(self, text: str, *, digits: bool) -> None:
        self.text = text
        self.digits = digits

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Chunk) and self.text == other.text

    def __lt__(self, other: _Chunk) -> bool:
        if self.digits and other.digits:
            return (len(self.text), int(self.text)) < (len(other.text), int(other.text))
        return self.text < other.text

    def __hash__(self) -> int:
        return hash(self.text)
