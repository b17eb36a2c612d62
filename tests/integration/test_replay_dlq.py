"""``cwlpipe replay-dlq`` on real servers: dead letters as the daemon writes them, replayed."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer, TopicPartition
from opensearchpy import AsyncOpenSearch

from consumers.config.service import ServiceConfig, parse_config
from consumers.devtools.local_servers import free_port
from consumers.devtools.sample_data import sample_payloads
from consumers.devtools.sample_traces import sample_trace_records
from consumers.kafka.dead_letters import (
    SCHEMA_HEADER,
    SCHEMA_VERSION,
    DeadLetterRecord,
    decode_dead_letter,
    encode_dead_letter,
)
from consumers.replay.replayer import replay_group
from pipeline.process import Processor
from tests.integration.fault_proxy import FaultProxy
from tests.integration.kafka_helpers import committed, create_topics, eventually, read_all, unique
from tests.integration.test_traces_end_to_end import expected, stored, traces_config_text

pytestmark = pytest.mark.integration

HOUR_MS = 3_600_000


def config_text(bootstrap: str, store: str, names: dict[str, str]) -> str:
    return f"""
kafka:
  bootstrap_servers: "{bootstrap}"
  input_topics: [{names["topic"]}]
  group_id: {names["group"]}
  dead_letter_topic: {names["dlq"]}
opensearch: {{url: "{store}", max_retries: 2, initial_backoff_s: 0.05, max_backoff_s: 0.2}}
metrics: {{port: {free_port()}, address: 127.0.0.1}}
default_route: {{index_prefix: {names["prefix"]}, retention_days: 30}}
traces: {{enabled: false}}
"""


@pytest.fixture
async def setup(kafka_bootstrap: str, osmem_url: str, tmp_path: Path) -> dict[str, Any]:
    names = {
        "topic": unique("logs"),
        "dlq": unique("dlq"),
        "group": unique("group"),
        "prefix": unique("replay"),
    }
    await create_topics(kafka_bootstrap, {names["topic"]: 1, names["dlq"]: 2})
    text = config_text(kafka_bootstrap, osmem_url, names)
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    config = parse_config(text, str(path))
    return {**names, "path": path, "config": config}


def dead_letter(
    topic: str, offset: int, original: bytes, stage: str, reason: str, time_ms: int, **more: Any
) -> DeadLetterRecord:
    return DeadLetterRecord(original, topic, 0, offset, stage, reason, time_ms, **more)


async def produce_dead_letters(
    bootstrap: str, dlq: str, records: list[DeadLetterRecord], partitions: int = 2
) -> dict[TopicPartition, int]:
    """As :class:`KafkaDeadLetters` writes them (value, key, schema header), round-robin."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    ends: dict[TopicPartition, int] = {}
    try:
        for index, record in enumerate(records):
            meta = await producer.send_and_wait(
                dlq,
                encode_dead_letter(record),
                key=f"{record.topic}/{record.partition}/{record.offset}".encode(),
                partition=index % partitions,
                headers=[(SCHEMA_HEADER, str(SCHEMA_VERSION).encode())],
            )
            where = TopicPartition(dlq, meta.partition)
            ends[where] = max(ends.get(where, 0), meta.offset + 1)
    finally:
        await producer.stop()
    return ends


def replay(config: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", "replay-dlq", "--config", str(config), *options],
        capture_output=True,
        text=True,
        timeout=120,
    )


async def ids_in(store: str, prefix: str) -> set[str]:
    client = AsyncOpenSearch(hosts=[store])
    try:
        await client.indices.refresh(index=f"{prefix}-*")
        found = await client.search(
            index=f"{prefix}-*",
            body={"size": 10_000, "_source": False, "query": {"match_all": {}}},
        )
        return {hit["_id"] for hit in found["hits"]["hits"]}
    finally:
        await client.close()


def ids_of(config: ServiceConfig, values: list[bytes]) -> set[str]:
    processor = Processor(config.core)
    return {action.id for value in values for action in processor.process(value).actions}


async def test_selected_dead_letters_are_indexed_or_dead_lettered_again(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    now = int(time.time() * 1000)
    samples = {p.name: p.data for p in sample_payloads(now)}
    lambda_gz, access_gz = samples["lambda.gz"], samples["apigw-access.gz"]
    old_payload = next(p.data for p in sample_payloads(now, seed=99) if p.good)
    action = Processor(setup["config"].core).process(access_gz).actions[0]
    topic = setup["topic"]
    records = [
        dead_letter(topic, 0, lambda_gz, "process", "KeyError: bug 17", now),
        dead_letter(topic, 1, samples["bad-not-json.gz"], "decode", "old reason", now),
        dead_letter(
            topic,
            2,
            orjson.dumps(action.source),
            "index",
            "HTTP 400: mapper_parsing_exception",
            now,
            document_id=action.id,
            index=action.index,
        ),
        dead_letter(topic, 3, old_payload, "process", "KeyError: bug 17", now - 48 * HOUR_MS),
    ]
    ends = await produce_dead_letters(kafka_bootstrap, setup["dlq"], records)
    group = replay_group(setup["group"])

    dry = replay(setup["path"], "--dry-run", "--reason-contains", "BUG 17", "--since", "-1d")
    assert dry.returncode == 0, dry.stderr
    listed = [line for line in dry.stdout.splitlines() if line.startswith("would replay")]
    assert len(listed) == 1, dry.stdout
    assert "stage process" in listed[0] and f"{topic}/0/0" in listed[0] and "bug 17" in listed[0]
    assert "would replay 1, indexed 0, dead-lettered again 0, skipped 3" in dry.stderr
    assert set((await committed(kafka_bootstrap, group, list(ends))).values()) == {0}
    assert await ids_in(osmem_url, setup["prefix"]) == set()

    done = replay(setup["path"], "--since", "-1d")
    assert done.returncode == 1, done.stderr  # one was dead-lettered again
    assert "replayed 3" in done.stderr and "dead-lettered again 1, skipped 1" in done.stderr
    stored = await ids_in(osmem_url, setup["prefix"])
    assert stored == ids_of(setup["config"], [lambda_gz]) | {action.id}
    assert await committed(kafka_bootstrap, group, list(ends)) == ends
    everything = await read_all(kafka_bootstrap, setup["dlq"], len(records) + 1, partitions=2)
    again = [decode_dead_letter(m.value) for m in everything if m.offset >= ends[_tp(m)]]
    assert [(r.topic, r.offset, r.stage) for r in again] == [(topic, 1, "decode")]
    assert again[0].reason != "old reason" and again[0].original == samples["bad-not-json.gz"]


def _tp(message: Any) -> TopicPartition:
    return TopicPartition(message.topic, message.partition)


async def test_bad_options_exit_2_in_one_line(setup: dict[str, Any]) -> None:
    result = replay(setup["path"], "--since", "yesterday-ish")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "cwlpipe replay-dlq: --since: 'yesterday-ish' is not a time: use ISO 8601 "
        "(2024-03-05T10:00:00Z) or -1h, -30m, -2d, now"
    ]


async def test_kill_9_mid_replay_then_again_loses_nothing(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    now = int(time.time() * 1000)
    good: list[bytes] = []
    seed = 0
    while len(good) < 240:
        good += [p.data for p in sample_payloads(now - seed, seed=seed) if p.good]
        seed += 1
    bad = [p.data for p in sample_payloads(now) if not p.good and p.name != "bad-bomb.gz"]
    topic = setup["topic"]
    values = good[:240] + bad
    records = [
        dead_letter(topic, offset, value, "process", "bug 17", now)
        for offset, value in enumerate(values)
    ]
    ends = await produce_dead_letters(kafka_bootstrap, setup["dlq"], records)
    group = replay_group(setup["group"])
    command = [sys.executable, "-m", "consumers.cli", "replay-dlq", "--config", str(setup["path"])]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def partly() -> bool:
        assert first.poll() is None, "the replay ended before it could be killed"
        done = await committed(kafka_bootstrap, group, list(ends))
        return any(done.values()) and not all(done[p] >= e for p, e in ends.items())

    try:
        await eventually(partly, "a first commit")
    finally:
        first.kill()  # SIGKILL: nothing flushed, nothing committed on the way out
        first.wait()
    second = await asyncio.to_thread(replay, setup["path"])
    assert second.returncode == 1, second.stderr  # the bad ones fail again
    assert await ids_in(osmem_url, setup["prefix"]) == ids_of(setup["config"], good[:240])
    done = await committed(kafka_bootstrap, group, list(ends))
    assert all(done[p] >= e for p, e in ends.items())
    everything = await read_all(
        kafka_bootstrap, setup["dlq"], len(records) + len(bad), partitions=2
    )
    again = [decode_dead_letter(m.value) for m in everything if m.offset >= ends[_tp(m)]]
    # every bad one is back at least once with its new reason (twice when the kill came between
    # its dead letter and its commit, or when the second run replayed the first run's)
    assert {r.offset for r in again} == set(range(240, 240 + len(bad)))
    assert all(r.stage == "decode" and r.reason != "bug 17" for r in again)


async def test_a_write_the_store_holds_is_never_committed_past(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any], tmp_path: Path
) -> None:
    now = int(time.time() * 1000)
    good = [p.data for p in sample_payloads(now) if p.good]
    topic = setup["topic"]
    records = [
        dead_letter(topic, offset, v, "process", "bug", now) for offset, v in enumerate(good)
    ]
    ends = await produce_dead_letters(kafka_bootstrap, setup["dlq"], records)
    group = replay_group(setup["group"])
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    held = tmp_path / "held.yaml"
    held.write_text(config_text(kafka_bootstrap, proxy.url, setup))
    proxy.hang = True  # bulk requests are taken and never answered
    command = [sys.executable, "-m", "consumers.cli", "replay-dlq", "--config", str(held)]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:

        async def writing() -> bool:
            assert first.poll() is None, "the replay ended while its write was held"
            return proxy.bulk_requests > 0

        await eventually(writing, "the first write to reach the store")
    finally:
        first.kill()
        first.wait()
        await proxy.stop()
    assert set((await committed(kafka_bootstrap, group, list(ends))).values()) == {0}
    second = await asyncio.to_thread(replay, setup["path"])
    assert second.returncode == 0, second.stderr
    assert await ids_in(osmem_url, setup["prefix"]) == ids_of(setup["config"], good)
    assert await committed(kafka_bootstrap, group, list(ends)) == ends


async def test_trace_dead_letters_go_through_the_trace_processor(
    kafka_bootstrap: str, osmem_url: str, tmp_path: Path
) -> None:
    names = {
        "logs": unique("logs"),
        "traces": unique("traces"),
        "dlq": unique("dlq"),
        "group": unique("group"),
        "spans": unique("spans"),
        "map": unique("service-map"),
    }
    await create_topics(kafka_bootstrap, {names["dlq"]: 1})
    path = tmp_path / "pipeline.yaml"
    path.write_text(traces_config_text(kafka_bootstrap, osmem_url, names))
    config = parse_config(path.read_text(), str(path))
    now = int(time.time() * 1000)
    values = [r.data for r in sample_trace_records(now)]
    want = expected(config, values)
    records = [
        dead_letter(names["traces"], offset, value, "trace", "old trace reason", now)
        for offset, value in enumerate(values)
    ]
    ends = await produce_dead_letters(kafka_bootstrap, names["dlq"], records, partitions=1)
    done = replay(path, "--stage", "trace")
    assert done.returncode == 1, done.stderr  # the bad record fails again
    assert f"replayed {len(values)}," in done.stderr and "dead-lettered again 1," in done.stderr
    assert set(await stored(osmem_url, f"{names['spans']}-*")) == want["spans"]
    assert set(await stored(osmem_url, names["map"])) == want["map"]
    everything = await read_all(kafka_bootstrap, names["dlq"], len(values) + 1)
    again = [decode_dead_letter(m.value) for m in everything if m.offset >= ends[_tp(m)]]
    assert [(r.stage, r.reason) for r in again] == [("trace", want["dead"][0])]


async def test_sigterm_stops_after_the_record_in_hand_and_the_next_run_goes_on(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any], tmp_path: Path
) -> None:
    now = int(time.time() * 1000)
    good: list[bytes] = []
    seed = 0
    while len(good) < 30:
        good += [p.data for p in sample_payloads(now - seed, seed=seed) if p.good]
        seed += 1
    topic = setup["topic"]
    records = [dead_letter(topic, i, v, "process", "bug", now) for i, v in enumerate(good)]
    ends = await produce_dead_letters(kafka_bootstrap, setup["dlq"], records)
    group = replay_group(setup["group"])
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    proxy.delay_s = 0.2  # each write answered late: the stop comes mid-replay
    slow = tmp_path / "slow.yaml"
    slow.write_text(config_text(kafka_bootstrap, proxy.url, setup))
    command = [sys.executable, "-m", "consumers.cli", "replay-dlq", "--config", str(slow)]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        async def partly() -> bool:
            assert first.poll() is None, "the replay ended before it could be stopped"
            return any((await committed(kafka_bootstrap, group, list(ends))).values())

        await eventually(partly, "a first commit")
        first.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(first.communicate, timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
        await proxy.stop()
    assert first.returncode == 0, err
    assert "stopped before the end; run it again to go on" in err
    done = await committed(kafka_bootstrap, group, list(ends))
    assert not all(done[p] >= e for p, e in ends.items())
    second = await asyncio.to_thread(replay, setup["path"])
    assert second.returncode == 0, second.stderr
    assert "stopped before the end" not in second.stderr
    assert await ids_in(osmem_url, setup["prefix"]) == ids_of(setup["config"], good)
    assert await committed(kafka_bootstrap, group, list(ends)) == ends
