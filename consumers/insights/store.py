"""Running a Logs Insights query on OpenSearch: narrow in the store, evaluate exactly here.

The store is asked only for what it answers exactly: the time range
(inclusive, to the millisecond), the log groups (``@log_group``, a prefix
for ``SOURCE logGroups(namePrefix: ...)``) and the route indices. Every
document it finds is scanned with a point in time and ``search_after``
(stable pages while the daemon writes) and handed to the reference
evaluator, so a query answers the same rows here as
:func:`pipeline.insights.run_query` does over the same documents: natural
sort, ``parse``, functions and arithmetic inside aggregations included, which
OpenSearch's DSL cannot all express (the test server even refuses scripts in
metric aggregations). A scan cap and a deadline bound the work; a query that
hits either answers what it saw and says it is partial.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from consumers.insights.pushdown import count_in_store, narrowing, plan_count
from pipeline.insights import Query, Result, evaluate

__all__ = ["DEFAULT_SCAN_CAP", "SOURCE_FIELDS", "InsightsRun", "run_on_store", "store_query"]

#: what the evaluator reads of a document
SOURCE_FIELDS = ("@timestamp", "@message", "@log_group", "@log_stream", "@owner", "@id")
DEFAULT_SCAN_CAP = 1_000_000
PAGE_SIZE = 2000
KEEP_ALIVE = "2m"


@dataclass(slots=True)
class InsightsRun:
    """The rows, and the statistics GetQueryResults reports."""

    result: Result
    records_scanned: int = 0
    bytes_scanned: int = 0
    seconds: float = 0.0
    partial: list[str] = field(default_factory=list)  # why the answer may be incomplete

    @property
    def records_matched(self) -> int:
        return self.result.matched


def store_query(
    query: Query,
    log_groups: Sequence[str],
    start_ms: int | None,
    end_ms: int | None,
) -> dict[str, Any]:
    """The DSL filter for the events a query may see (a superset of what it keeps)."""
    filters: list[dict[str, Any]] = []
    if start_ms is not None or end_ms is not None:
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if start_ms is not None:
            bounds["gte"] = start_ms
        if end_ms is not None:
            bounds["lte"] = end_ms
        filters.append({"range": {"@timestamp": bounds}})
    groups: list[dict[str, Any]] = []
    if log_groups:
        groups.append({"terms": {"@log_group": list(log_groups)}})
    if query.source is not None:
        groups += [{"prefix": {"@log_group": prefix}} for prefix in query.source.name_prefixes]
    if groups:
        filters.append({"bool": {"should": groups, "minimum_should_match": 1}})
    return {"bool": {"filter": filters}} if filters else {"match_all": {}}


async def run_on_store(
    client: AsyncOpenSearch,
    query: Query,
    *,
    indices: str,
    log_groups: Sequence[str] = (),
    start_ms: int | None = None,
    end_ms: int | None = None,
    timeout_s: float = 60.0,
    scan_cap: int = DEFAULT_SCAN_CAP,
    now_ms: int | None = None,
) -> InsightsRun:
    """Scan, evaluate, and say what was partial. Connection errors propagate (the caller
    reports them); a deadline or the cap stops the scan and is reported as partial."""
    began = time.monotonic()
    documents: list[dict[str, Any]] = []
    run = InsightsRun(Result())
    narrowed = store_query(query, log_groups, start_ms, end_ms)
    exact = narrowing(query)
    if exact:  # the leading filters the store answers exactly narrow the scan
        narrowed = {"bool": {"filter": [narrowed, *exact]}}
    plan = plan_count(query)
    if plan is not None:  # counted in the store, exactly
        counting = count_in_store(
            client, query, plan, indices=indices, narrowed=narrowed, now_ms=now_ms
        )
        run.result, run.records_scanned = await asyncio.wait_for(counting, timeout_s)
        run.seconds = time.monotonic() - began
        return run
    try:
        await asyncio.wait_for(
            _scan(client, indices, narrowed, documents, run, scan_cap),
            timeout_s,
        )
    except TimeoutError:
        run.partial.append(f"the scan stopped at the {timeout_s:g} s timeout")
    if len(documents) >= scan_cap:
        run.partial.append(f"the scan stopped at its cap of {scan_cap} documents")
    run.result = evaluate(query, documents, start_ms=start_ms, end_ms=end_ms, now_ms=now_ms)
    run.records_scanned = len(documents)
    run.seconds = time.monotonic() - began
    return run


async def _scan(
    client: AsyncOpenSearch,
    indices: str,
    narrowed: dict[str, Any],
    documents: list[dict[str, Any]],
    run: InsightsRun,
    cap: int,
) -> None:
    try:
        pit = await client.create_pit(index=indices, params={"keep_alive": KEEP_ALIVE})
    except NotFoundError:
        return  # no index of these routes exists yet: nothing to scan
    pit_id = pit["pit_id"]
    try:
        after: list[Any] | None = None
        while len(documents) < cap:
            body: dict[str, Any] = {
                "size": min(PAGE_SIZE, cap - len(documents)),
                "query": narrowed,
                "_source": list(SOURCE_FIELDS),
                "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE},
                "sort": [{"@timestamp": "desc"}, {"_shard_doc": "asc"}],
                "track_total_hits": False,
            }
            if after is not None:
                body["search_after"] = after
            page = await client.search(body=body)
            hits = page["hits"]["hits"]
            for hit in hits:
                source = hit.get("_source") or {}
                documents.append(source)
                run.bytes_scanned += len(orjson.dumps(source))
            if len(hits) < body["size"]:
                return
            after = hits[-1]["sort"]
            pit_id = page.get("pit_id", pit_id)
    finally:
        with contextlib.suppress(Exception):  # it expires on its own; never mask the answer
            await asyncio.wait_for(client.delete_pit(body={"pit_id": [pit_id]}), 2.0)
