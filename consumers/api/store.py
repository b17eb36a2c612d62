"""What the Logs API asks of the store: groups, streams, events in order, one event by id.

Log groups and streams are not kept anywhere: they are the distinct
``@log_group`` and ``@log_stream`` values of the route indices, listed with
composite aggregations (exact, paged by key), with the first and last event
time of each. Events are read in ``(@timestamp, @id)`` order with
``search_after``: the pair is unique per document, so a cursor on it is
exact. Missing indices are an empty store, not an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch

from pipeline.insights.discovered import parse_timestamp

__all__ = ["EVENT_FIELDS", "Event", "LogStore", "Summary"]

#: what an event answer needs of a document
EVENT_FIELDS = ("@id", "@timestamp", "@message", "@log_stream", "@log_group", "@owner")
_LENIENT = {"ignore_unavailable": "true", "allow_no_indices": "true"}
_COMPOSITE_PAGE = 1000
#: groups or streams listed at most for one request, so a runaway store cannot exhaust memory
MAX_KEYS = 100_000


@dataclass(frozen=True, slots=True)
class Summary:
    """One log group or stream: its name, owner and first and last event times."""

    name: str
    owner: str | None
    first_ms: int
    last_ms: int
    events: int


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    timestamp: int
    message: str
    log_stream: str
    sort: list[Any]  # the store's sort values: where a cursor resumes

    @property
    def size(self) -> int:
        """What the event counts against a 1 MB response, as CloudWatch counts it."""
        return len(self.message.encode("utf-8")) + 26


class LogStore:
    def __init__(self, client: AsyncOpenSearch, indices: str) -> None:
        self.client = client
        self.indices = indices

    async def groups(self, prefix: str | None = None) -> list[Summary]:
        query: dict[str, Any] = {"prefix": {"@log_group": prefix}} if prefix else {"match_all": {}}
        return await self._distinct("@log_group", query)

    async def streams(self, group: str, prefix: str | None = None) -> list[Summary]:
        filters: list[dict[str, Any]] = [{"term": {"@log_group": group}}]
        if prefix:
            filters.append({"prefix": {"@log_stream": prefix}})
        return await self._distinct("@log_stream", {"bool": {"filter": filters}})

    async def count(self, group: str, stream: str | None = None) -> int:
        filters: list[dict[str, Any]] = [{"term": {"@log_group": group}}]
        if stream is not None:
            filters.append({"term": {"@log_stream": stream}})
        body = {"size": 0, "track_total_hits": True, "query": {"bool": {"filter": filters}}}
        answer = await self.client.search(index=self.indices, body=body, params=_LENIENT)
        total = answer["hits"]["total"]
        return int(total["value"] if isinstance(total, dict) else total)

    async def missing_groups(self, groups: Sequence[str]) -> list[str]:
        """The names in ``groups`` the store holds no event of."""
        if not groups:
            return []
        body = {
            "size": 0,
            "query": {"terms": {"@log_group": list(groups)}},
            "aggs": {"found": {"terms": {"field": "@log_group", "size": len(groups)}}},
        }
        answer = await self.client.search(index=self.indices, body=body, params=_LENIENT)
        found = {
            b["key"] for b in (answer.get("aggregations") or {}).get("found", {}).get("buckets", [])
        }
        return [group for group in groups if group not in found]

    async def events(
        self,
        query: dict[str, Any],
        *,
        ascending: bool,
        after: list[Any] | None,
        size: int,
    ) -> list[Event]:
        """One page of events matching ``query``, strictly after the cursor ``after``."""
        order = "asc" if ascending else "desc"
        body: dict[str, Any] = {
            "size": size,
            "query": query,
            "_source": list(EVENT_FIELDS),
            "sort": [{"@timestamp": order}, {"@id": order}],
            "track_total_hits": False,
        }
        if after is not None:
            body["search_after"] = after
        answer = await self.client.search(index=self.indices, body=body, params=_LENIENT)
        return [_event(hit) for hit in answer["hits"]["hits"]]

    async def document(self, event_id: str) -> dict[str, Any] | None:
        body = {"size": 1, "query": {"term": {"@id": event_id}}}
        answer = await self.client.search(index=self.indices, body=body, params=_LENIENT)
        hits = answer["hits"]["hits"]
        return dict(hits[0]["_source"]) if hits else None

    async def _distinct(self, field: str, query: dict[str, Any]) -> list[Summary]:
        found: list[Summary] = []
        after: dict[str, Any] | None = None
        while len(found) < MAX_KEYS:
            composite: dict[str, Any] = {
                "size": _COMPOSITE_PAGE,
                "sources": [{"name": {"terms": {"field": field}}}],
            }
            if after is not None:
                composite["after"] = after
            body = {
                "size": 0,
                "query": query,
                "aggs": {
                    "keys": {
                        "composite": composite,
                        "aggs": {
                            "first": {"min": {"field": "@timestamp"}},
                            "last": {"max": {"field": "@timestamp"}},
                            "owner": {"terms": {"field": "@owner", "size": 1}},
                        },
                    }
                },
            }
            answer = await self.client.search(index=self.indices, body=body, params=_LENIENT)
            keys = (answer.get("aggregations") or {}).get("keys") or {}
            buckets = keys.get("buckets") or []
            found += [_summary(bucket) for bucket in buckets]
            after = keys.get("after_key")
            if len(buckets) < _COMPOSITE_PAGE or after is None:
                break
        return found


def _summary(bucket: dict[str, Any]) -> Summary:
    owners = bucket.get("owner", {}).get("buckets") or []
    return Summary(
        name=str(bucket["key"]["name"]),
        owner=str(owners[0]["key"]) if owners else None,
        first_ms=int(bucket.get("first", {}).get("value") or 0),
        last_ms=int(bucket.get("last", {}).get("value") or 0),
        events=int(bucket.get("doc_count", 0)),
    )


def _event(hit: dict[str, Any]) -> Event:
    source = hit.get("_source") or {}
    raw_time = source.get("@timestamp")
    millis = parse_timestamp(raw_time) if isinstance(raw_time, str) else None
    if millis is None:
        millis = int(hit["sort"][0])
    message = source.get("@message")
    return Event(
        id=str(source.get("@id", hit.get("_id", ""))),
        timestamp=millis,
        message=message if isinstance(message, str) else "",
        log_stream=str(source.get("@log_stream", "")),
        sort=list(hit["sort"]),
    )
