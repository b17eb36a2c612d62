"""End to end on real servers: every sample and bad payload in, exact counts out."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from typing import Any

import aiohttp
import pytest
from opensearchpy import AsyncOpenSearch

from consumers.cli.run import build_daemon, serve
from consumers.config.service import ServiceConfig, parse_config
from consumers.devtools.local_servers import free_port
from consumers.devtools.sample_data import sample_payloads
from consumers.kafka.dead_letters import decode_dead_letter
from consumers.runtime.daemon import Daemon
from pipeline.process import Processor
from tests.integration.kafka_helpers import (
    committed,
    create_topics,
    eventually,
    produce,
    read_all,
    unique,
)

pytestmark = pytest.mark.integration

PARTITIONS = 2


def config_text(
    bootstrap: str,
    store: str,
    topic: str,
    dlq: str,
    group: str,
    batch: int = 500,
    metrics_port: int | None = None,
) -> str:
    """The YAML the daemon tests run with (the process tests write it to a file)."""
    return f"""
kafka:
  bootstrap_servers: "{bootstrap}"
  input_topics: [{topic}]
  group_id: {group}
  dead_letter_topic: {dlq}
  session_timeout_ms: 6000
  heartbeat_interval_ms: 2000
  max_batch_records: {batch}
opensearch: {{url: "{store}", max_retries: 2, initial_backoff_s: 0.05, max_backoff_s: 0.2}}
metrics: {{port: {metrics_port or free_port()}, address: 127.0.0.1}}
routes:
  - name: lambda
    log_groups: ["/aws/lambda/*"]
    filter_pattern: "-DEBUG"
    index_prefix: cwl
    retention_days: 30
default_route: {{index_prefix: cwl, retention_days: 30}}
traces: {{enabled: false}}   # these tests are about logs; the trace tests use their own topics
shutdown_deadline_s: 20
"""


def config_for(bootstrap: str, store: str, topic: str, dlq: str, group: str) -> ServiceConfig:
    return parse_config(config_text(bootstrap, store, topic, dlq, group), "test.yaml")


def expected_from_core(config: ServiceConfig, values: list[bytes]) -> dict[str, Any]:
    """What the pure core says these payloads yield: the shell must deliver exactly that."""
    processor = Processor(config.core)
    ids: set[str] = set()
    dead: list[str] = []
    filtered = actions = 0
    for value in values:
        outcome = processor.process(value)
        ids |= {action.id for action in outcome.actions}
        actions += len(outcome.actions)
        filtered += outcome.filtered_out
        if outcome.dead_letter:
            dead.append(outcome.dead_letter.reason)
    return {"ids": ids, "dead": dead, "filtered": filtered, "actions": actions}


async def all_ids(store: str) -> set[str]:
    client = AsyncOpenSearch(hosts=[store])
    try:
        found = await client.search(
            index="cwl-*", body={"size": 10_000, "_source": False, "query": {"match_all": {}}}
        )
        return {hit["_id"] for hit in found["hits"]["hits"]}
    finally:
        await client.close()


async def drained(bootstrap: str, group: str, ends: dict[Any, int]) -> bool:
    done = await committed(bootstrap, group, list(ends))
    return all(done[p] >= end for p, end in ends.items())


@pytest.fixture
def names() -> dict[str, str]:
    return {"topic": unique("logs"), "dlq": unique("dlq"), "group": unique("group")}


async def test_every_good_event_indexed_once_every_bad_payload_dead_lettered(
    kafka_bootstrap: str, osmem_url: str, names: dict[str, str], promtool: str
) -> None:
    topic, dlq, group = names["topic"], names["dlq"], names["group"]
    await create_topics(kafka_bootstrap, {topic: PARTITIONS, dlq: 1})
    config = config_for(kafka_bootstrap, osmem_url, topic, dlq, group)
    payloads = sample_payloads(int(time.time() * 1000))
    values = [p.data for p in payloads]
    expected = expected_from_core(config, values)
    assert len(expected["dead"]) == sum(1 for p in payloads if not p.good) >= 5
    ends = await produce(kafka_bootstrap, topic, values, partitions=PARTITIONS)

    daemon = build_daemon(config)
    task = asyncio.create_task(serve(daemon))
    await eventually(
        lambda: drained(kafka_bootstrap, group, ends), "the group to commit everything"
    )
    base = f"http://127.0.0.1:{daemon.server.port}"
    async with aiohttp.ClientSession() as http:
        for path in ("/healthz", "/readyz"):
            async with http.get(base + path) as answer:
                assert answer.status == 200, path
        async with http.get(base + "/metrics") as answer:
            assert answer.status == 200
            exposition = await answer.read()
    checked = subprocess.run([promtool, "check", "metrics"], input=exposition, capture_output=True)
    assert checked.returncode == 0 and not checked.stdout + checked.stderr, checked
    assert b"cwlpipe_lambda_invocations_total" in exposition
    daemon.request_stop()
    assert await asyncio.wait_for(task, 30) == 0

    assert await all_ids(osmem_url) == expected["ids"]
    letters = [
        decode_dead_letter(r.value)
        for r in await read_all(kafka_bootstrap, dlq, len(expected["dead"]))
    ]
    assert sorted(letter.reason for letter in letters) == sorted(expected["dead"])
    assert {letter.stage for letter in letters} == {"decode"}
    by_origin = {(letter.partition, letter.offset): letter for letter in letters}
    assert len(by_origin) == len(letters)  # each bad record once
    originals = {letter.original for letter in letters}
    assert originals == {p.data for p in payloads if not p.good}

    metrics = _samples(daemon)
    assert metrics["cwlpipe_records_in_total"] == len(values)
    # the samples repeat some deliveries (same event ids): indexed twice, stored once
    assert metrics["cwlpipe_events_indexed_total"] == expected["actions"] > len(expected["ids"])
    assert metrics['cwlpipe_events_filtered_out_total{route="lambda"}'] == expected["filtered"]
    assert metrics['cwlpipe_dead_letters_total{stage="decode"}'] == len(expected["dead"])


def _samples(daemon: Daemon) -> Counter[str]:
    from prometheus_client.parser import text_string_to_metric_families

    found: Counter[str] = Counter()
    for family in text_string_to_metric_families(daemon.metrics.exposition().decode()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] += sample.value
    return found
