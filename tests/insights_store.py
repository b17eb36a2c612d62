"""The Logs Insights suite through the store: ``run_query`` replaced by one that indexes the
events into the OpenSearch-compatible server, runs the query with ``cwlpipe insights``'
executor, checks the rows against the reference evaluator's and returns them.

Switched on by ``CWLPIPE_INSIGHTS_STORE=<url>`` (tests/unit/conftest.py patches the insights
test modules); ``tests/integration/test_insights_both_ways.py`` runs the whole suite so.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from opensearchpy import AsyncOpenSearch

from consumers.insights.store import SOURCE_FIELDS, run_on_store
from consumers.opensearch.templates import index_template, template_name
from pipeline.documents import IndexAction, encode_action
from pipeline.insights import parse_query
from pipeline.insights import run_query as reference

__all__ = ["store_run_query"]


def store_run_query(url: str) -> Any:
    def run_query(
        query: str,
        events: list[dict[str, Any]],
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> list[dict[str, Any]]:
        expected = reference(query, events, start_ms=start_ms, end_ms=end_ms)  # raises first
        rows = asyncio.run(_through_store(url, query, events, start_ms, end_ms))
        assert rows == expected, f"store and reference differ for {query!r}:\n{rows}\n{expected}"
        return rows

    return run_query


async def _through_store(
    url: str,
    query: str,
    events: list[dict[str, Any]],
    start_ms: int | None,
    end_ms: int | None,
) -> list[dict[str, Any]]:
    prefix = f"insq-{uuid.uuid4().hex[:10]}"
    client = AsyncOpenSearch(hosts=[url], timeout=60)
    try:
        await client.indices.put_index_template(
            name=template_name(prefix), body=index_template(prefix)
        )
        index = f"{prefix}-2000.01.01"
        await client.indices.create(index=index)
        if events:
            # only what the executor reads: an application's merged JSON fields can make the
            # store refuse a document (a value here, an object there), which tests the
            # mapping, not the query
            body = b"".join(
                encode_action(
                    IndexAction(index, f"{n}", {k: source[k] for k in SOURCE_FIELDS if k in source})
                )
                for n, source in enumerate(events)
            )
            answer = await client.bulk(body=body, params={"refresh": "true"})
            assert not answer["errors"], answer
        run = await run_on_store(
            client,
            parse_query(query),
            indices=f"{prefix}-2*",
            start_ms=start_ms,
            end_ms=end_ms,
            now_ms=end_ms,
        )
        assert not run.partial, run.partial
        return run.result.rows
    finally:
        await client.indices.delete(index=f"{prefix}-2*", ignore_unavailable=True)
        await client.close()
