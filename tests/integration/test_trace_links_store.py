"""``cwlpipe process`` into the store: a span's logs are one term query on ``traceId`` away."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from consumers.cli import main

pytestmark = pytest.mark.integration

TRACE = "5e61292ccc1229a4dfbeae1043928548"  # 1-5e61292c-cc1229a4dfbeae1043928548


async def test_logs_of_one_request_are_found_by_its_trace_id(
    osmem_url: str, tmp_path: Path, shared: Path
) -> None:
    # A real delivery: two lines print the request's X-Ray header, its REPORT has the XRAY line.
    # Its bare JSON lines (Datadog's metrics and traces) are left out: the tracer's "traces"
    # line conflicts with the mapping another of them sets, and the store refuses it.
    fixture = shared / "reference" / "lambda" / "dd_forwarder_cloudwatch_logs_event_decoded.json"
    payload = json.loads(fixture.read_text(encoding="utf-8"))["payload"]
    payload["logEvents"] = [e for e in payload["logEvents"] if not e["message"].startswith("{")]
    delivery = tmp_path / "delivery.json"
    delivery.write_text(json.dumps(payload))
    config = tmp_path / "c.yaml"
    config.write_text(
        f'opensearch: {{url: "{osmem_url}"}}\ndefault_route: {{retention_days: 30}}\n'
    )
    code = await asyncio.to_thread(main, ["process", "--config", str(config), str(delivery)])
    assert code == 0
    client = AsyncOpenSearch(hosts=[osmem_url])
    try:
        by_trace = await client.search(
            index="cwl-*", body={"size": 100, "query": {"term": {"traceId": TRACE}}}
        )
        by_span = await client.search(
            index="cwl-*", body={"size": 100, "query": {"term": {"spanId": "07a85e713f6302b2"}}}
        )
        everything = await client.search(index="cwl-*", body={"size": 100})
    finally:
        await client.close()
    found = [hit["_source"] for hit in by_trace["hits"]["hits"]]
    assert len(found) == 3
    assert sum(1 for source in found if source.get("lambda", {}).get("type") == "report") == 1
    assert all(TRACE[:8] in source["@message"] for source in found)
    (report,) = [hit["_source"] for hit in by_span["hits"]["hits"]]
    assert report["traceId"] == TRACE and report["@message"].startswith("REPORT")
    assert len(everything["hits"]["hits"]) > len(found)  # the other lines name no trace
