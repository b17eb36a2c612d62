"""An in-memory stand-in for the Logs API's store, and a request builder, for unit tests.

The store answers the few query shapes :mod:`consumers.api` sends (term,
terms, prefix, range on ``@timestamp``) over plain documents, in the same
``(@timestamp, @id)`` order with ``search_after``, so paging logic is tested
without a server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any
from unittest import mock

from aiohttp import web
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict

from consumers.api.context import ApiContext
from consumers.api.queries import QueryRegistry
from consumers.api.store import Event, LogStore, Summary
from consumers.config.service import ServiceConfig, service_config
from pipeline.insights.discovered import parse_timestamp


def document(n: int, ms: int, message: str, group: str = "/g", stream: str = "s") -> dict[str, Any]:
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"
    return {
        "@id": f"{n:08d}",
        "@timestamp": iso,
        "@message": message,
        "@owner": "123456789012",
        "@log_group": group,
        "@log_stream": stream,
    }


def _millis(doc: dict[str, Any]) -> int:
    value = parse_timestamp(doc["@timestamp"])
    assert value is not None
    return value


def _matches(doc: dict[str, Any], clause: dict[str, Any]) -> bool:
    kind, body = next(iter(clause.items()))
    if kind == "bool":
        return all(_matches(doc, c) for c in body.get("filter", []))
    if kind == "match_all":
        return True
    field, value = next(iter(body.items()))
    if kind == "term":
        return bool(doc.get(field) == value)
    if kind == "terms":
        return doc.get(field) in value
    if kind == "prefix":
        return str(doc.get(field, "")).startswith(value)
    if kind == "range":
        ms = _millis(doc)
        return (
            ms >= value.get("gte", -(10**18))
            and ms > value.get("gt", -(10**18))
            and ms <= value.get("lte", 10**18)
            and ms < value.get("lt", 10**18)
        )
    raise AssertionError(f"the double does not know {kind}")


class MemoryStore(LogStore):
    def __init__(self, documents: Sequence[dict[str, Any]]) -> None:
        super().__init__(None, "cwl-2*")  # type: ignore[arg-type]
        self.documents = list(documents)
        self.searches = 0

    def _summaries(self, field: str, docs: list[dict[str, Any]]) -> list[Summary]:
        by: dict[str, list[dict[str, Any]]] = {}
        for doc in docs:
            by.setdefault(doc[field], []).append(doc)
        return [
            Summary(name, ds[0]["@owner"], min(map(_millis, ds)), max(map(_millis, ds)), len(ds))
            for name, ds in sorted(by.items())
        ]

    async def groups(self, prefix: str | None = None) -> list[Summary]:
        docs = [d for d in self.documents if d["@log_group"].startswith(prefix or "")]
        return self._summaries("@log_group", docs)

    async def streams(self, group: str, prefix: str | None = None) -> list[Summary]:
        docs = [
            d
            for d in self.documents
            if d["@log_group"] == group and d["@log_stream"].startswith(prefix or "")
        ]
        return self._summaries("@log_stream", docs)

    async def count(self, group: str, stream: str | None = None) -> int:
        return sum(
            1
            for d in self.documents
            if d["@log_group"] == group and stream in (None, d["@log_stream"])
        )

    async def missing_groups(self, groups: Sequence[str]) -> list[str]:
        present = {d["@log_group"] for d in self.documents}
        return [g for g in groups if g not in present]

    async def events(
        self, query: dict[str, Any], *, ascending: bool, after: list[Any] | None, size: int
    ) -> list[Event]:
        self.searches += 1
        keyed = sorted(((_millis(d), d["@id"]), d) for d in self.documents if _matches(d, query))
        if not ascending:
            keyed.reverse()
        if after is not None:
            cursor = tuple(after)
            keyed = [(k, d) for k, d in keyed if (k > cursor if ascending else k < cursor)]
        return [
            Event(d["@id"], k[0], d["@message"], d["@log_stream"], list(k)) for k, d in keyed[:size]
        ]

    async def document(self, event_id: str) -> dict[str, Any] | None:
        return next((d for d in self.documents if d["@id"] == event_id), None)


async def _never(*args: Any) -> Any:
    await asyncio.Event().wait()


def context(documents: Sequence[dict[str, Any]], config: ServiceConfig | None = None) -> ApiContext:
    registry = QueryRegistry(_never, timeout_s=1.0, max_running=1, max_pending=5)
    return ApiContext(MemoryStore(documents), config or service_config({}), registry)


def request(
    body: bytes,
    headers: dict[str, str] | None = None,
    path: str = "/",
    host: str = "127.0.0.1:4586",
) -> web.Request:
    """A request as aiohttp hands it to a handler, with ``body`` to read."""
    loop = asyncio.get_running_loop()
    protocol = mock.Mock(_reading_paused=False)
    stream = StreamReader(protocol, 2**16, loop=loop)
    stream.feed_data(body)
    stream.feed_eof()
    all_headers = CIMultiDict({"Host": host, "Content-Length": str(len(body))})
    all_headers.update(headers or {})
    return make_mocked_request("POST", path, headers=all_headers, payload=stream)
