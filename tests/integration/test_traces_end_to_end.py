"""Traces through the real broker and the real store: segments, datagrams and PutTraceSegments
bodies in; spans and service-map documents out, each once, also across a kill -9; the bad
record dead-lettered with stage ``trace``; edge statistics on ``/metrics``."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch

from consumers.config.service import ServiceConfig, parse_config
from consumers.devtools.local_servers import free_port
from consumers.devtools.sample_data import sample_payloads
from consumers.devtools.sample_traces import sample_requests, sample_trace_records
from consumers.kafka.dead_letters import decode_dead_letter
from consumers.runtime.daemon import build_daemon, serve
from pipeline.traces.processor import TraceProcessor
from tests.integration.kafka_helpers import (
    create_topics,
    eventually,
    produce,
    read_all,
    unique,
)
from tests.integration.test_daemon_end_to_end import _samples, drained
from tests.integration.test_daemon_process import partly_committed

pytestmark = pytest.mark.integration


def traces_config_text(bootstrap: str, store: str, names: dict[str, str], batch: int = 500) -> str:
    return f"""
kafka:
  bootstrap_servers: "{bootstrap}"
  input_topics: [{names["logs"]}]
  group_id: {names["group"]}
  dead_letter_topic: {names["dlq"]}
  session_timeout_ms: 6000
  heartbeat_interval_ms: 2000
  max_batch_records: {batch}
opensearch: {{url: "{store}", max_retries: 2, initial_backoff_s: 0.05, max_backoff_s: 0.2}}
metrics: {{port: {free_port()}, address: 127.0.0.1}}
traces:
  input_topics: [{names["traces"]}]
  span_index_prefix: {names["spans"]}
  service_map_index: {names["map"]}
shutdown_deadline_s: 20
"""


@pytest.fixture
async def setup(kafka_bootstrap: str, osmem_url: str, tmp_path: Path) -> dict[str, Any]:
    names = {
        "logs": unique("logs"),
        "traces": unique("traces"),
        "dlq": unique("dlq"),
        "group": unique("group"),
        "spans": unique("spans"),
        "map": unique("service-map"),
    }
    await create_topics(kafka_bootstrap, {names["logs"]: 1, names["traces"]: 1, names["dlq"]: 1})
    text = traces_config_text(kafka_bootstrap, osmem_url, names, batch=3)
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return {**names, "path": path, "config": parse_config(text, str(path))}


def expected(config: ServiceConfig, values: list[bytes]) -> dict[str, Any]:
    """What the core makes of the records, in order: the shell must store exactly that."""
    processor = TraceProcessor(config.core.traces)
    spans: set[str] = set()
    relationships: set[str] = set()
    edges: set[tuple[Any, ...]] = set()
    dead = []
    for value in values:
        outcome = processor.process(value)
        if outcome.dead_letter is not None:
            dead.append(outcome.dead_letter.reason)
        for action in outcome.actions:
            if "service-map" in action.index:
                relationships.add(action.id)
                edges.add(_edge(action.source))
            else:
                spans.add(action.id)
    return {"spans": spans, "map": relationships, "edges": edges, "dead": dead}


async def stored(store: str, index: str) -> dict[str, dict[str, Any]]:
    client = AsyncOpenSearch(hosts=[store])
    try:
        await client.indices.refresh(index=index)
        found = await client.search(index=index, body={"size": 10_000, "query": {"match_all": {}}})
        return {hit["_id"]: hit["_source"] for hit in found["hits"]["hits"]}
    finally:
        await client.close()


async def test_spans_and_the_service_map_land_once_and_the_bad_record_is_a_dead_letter(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    now = int(time.time() * 1000)
    records = sample_trace_records(now)
    values = [r.data for r in records]
    want = expected(setup["config"], values)
    assert len(want["dead"]) == 1 and len(want["spans"]) > 20 and len(want["map"]) >= 8
    ends = await produce(kafka_bootstrap, setup["traces"], values)
    logs = [p.data for p in sample_payloads(now) if p.good]
    ends |= await produce(kafka_bootstrap, setup["logs"], logs)

    daemon = build_daemon(setup["config"])
    task = asyncio.create_task(serve(daemon))
    await eventually(
        lambda: drained(kafka_bootstrap, setup["group"], ends), "the group to commit everything"
    )
    metrics = _samples(daemon)
    daemon.request_stop()
    assert await asyncio.wait_for(task, 30) == 0

    spans = await stored(osmem_url, f"{setup['spans']}-*")
    assert set(spans) == want["spans"]
    assert {span["traceGroup"] for span in spans.values()} == {"shop-api/prod"}
    assert all(span["traceGroupFields.durationInNanos"] > 0 for span in spans.values())
    assert {span["serviceName"] for span in spans.values()} == {"shop-api/prod", "checkout"}
    relationships = await stored(osmem_url, setup["map"])
    assert set(relationships) == want["map"]
    edges = {
        (d["serviceName"], (d["destination"] or {}).get("domain"))
        for d in relationships.values()
        if d["destination"]
    }
    assert edges == {
        ("shop-api/prod", "checkout"),
        ("checkout", "DynamoDB"),
        ("checkout", "payments.example.com"),
    }

    # one request, both ways: from its REPORT log line to its spans, and from its span to its logs
    request = sample_requests(now)[1]
    trace_id = request.trace_id[2:10] + request.trace_id[11:]
    client = AsyncOpenSearch(hosts=[osmem_url])
    try:
        await client.indices.refresh(index="cwl-*")
        report = await client.search(
            index="cwl-*",
            body={
                "query": {
                    "bool": {
                        "filter": [
                            {"term": {"traceId": trace_id}},
                            {"term": {"lambda.type": "report"}},
                        ]
                    }
                }
            },
        )
        (log,) = [hit["_source"] for hit in report["hits"]["hits"]]
        found = await client.search(
            index=f"{setup['spans']}-*", body={"query": {"term": {"traceId": log["traceId"]}}}
        )
        span_ids = {hit["_source"]["spanId"] for hit in found["hits"]["hits"]}
        assert log["spanId"] == request.segment_id in span_ids
        function_span = spans[f"{trace_id}/{request.segment_id}"]
        assert function_span["serviceName"] == "checkout"
        back = await client.search(
            index="cwl-*", body={"query": {"term": {"spanId": function_span["spanId"]}}}
        )
        assert [hit["_source"]["@id"] for hit in back["hits"]["hits"]] == [log["@id"]]
    finally:
        await client.close()

    (letter,) = [
        decode_dead_letter(r.value) for r in await read_all(kafka_bootstrap, setup["dlq"], 1)
    ]
    assert letter.stage == "trace"
    assert letter.reason == want["dead"][0]
    assert letter.original == next(r.data for r in records if not r.good)

    to_dynamo = 'client="checkout",server="DynamoDB",server_type="AWS::DynamoDB"'
    assert metrics[f"cwlpipe_xray_edge_requests_total{{{to_dynamo}}}"] == 6
    payments = 'client="checkout",server="payments.example.com",server_type="remote"'
    assert metrics[f"cwlpipe_xray_edge_throttle_total{{{payments}}}"] == 1
    checkout = 'client="shop-api/prod",server="checkout",server_type="AWS::Lambda::Function"'
    assert metrics[f"cwlpipe_xray_edge_fault_total{{{checkout}}}"] == 1
    assert metrics['cwlpipe_dead_letters_total{stage="trace"}'] == 1


async def test_kill_9_then_restart_stores_every_span_once(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any], tmp_path: Path
) -> None:
    values: list[bytes] = []
    now = int(time.time() * 1000)
    for seed in range(6):
        values += [r.data for r in sample_trace_records(now - seed * 10_000, seed=seed) if r.good]
    want = expected(setup["config"], values)
    ends = await produce(kafka_bootstrap, setup["traces"], values)
    log = tmp_path / "daemon.log"
    command = [sys.executable, "-m", "consumers.cli", "run", "--config", str(setup["path"])]
    first = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        await eventually(
            lambda: partly_committed(kafka_bootstrap, setup["group"], ends, first),
            "a first commit",
        )
    finally:
        first.kill()  # SIGKILL: no flush, no commit
        first.wait()
    second = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    try:
        await eventually(
            lambda: drained(kafka_bootstrap, setup["group"], ends), "the restart to drain", 120
        )
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()
    spans = await stored(osmem_url, f"{setup['spans']}-*")
    assert set(spans) == want["spans"]  # every span, each _id once
    # The map holds no wrong edge. Its waits are memory: an edge whose two sides were read
    # on both sides of the kill cannot be rebuilt by the restart (README, "Traces").
    edges = {_edge(d) for d in (await stored(osmem_url, setup["map"])).values()}
    assert edges and edges <= want["edges"]


def _edge(document: dict[str, Any]) -> tuple[Any, ...]:
    target, destination = document["target"], document["destination"]
    return (
        document["serviceName"],
        document["kind"],
        None if target is None else (target["resource"], target["domain"]),
        None if destination is None else (destination["resource"], destination["domain"]),
    )
