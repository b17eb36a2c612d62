"""The shell against its neighbours, on real servers: poison, huge and over-long records, SIGTERM
during each kind of store outage, a broker restart, kill -9 again and again, a rebalance during
a slow write. Each asserts what the issue's "done when" says: every produced id in the store once,
every bad record in the dead-letter topic with its reason, the books balanced, no exit but 0, and
peak memory bounded.
"""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from opensearchpy import AsyncOpenSearch

from consumers.cli.run import build_daemon, serve
from consumers.config.service import parse_config
from consumers.devtools.local_servers import LocalBroker, free_port
from consumers.kafka.dead_letters import decode_dead_letter
from consumers.opensearch.sink import MAX_ID_BYTES
from pipeline.documents import day_index
from tests.integration.fault_proxy import FaultProxy
from tests.integration.kafka_helpers import (
    committed,
    create_topics,
    eventually,
    produce,
    read_all,
    unique,
)
from tests.integration.test_daemon_end_to_end import (
    _samples,
    all_ids,
    config_text,
    drained,
    expected_from_core,
)
from tests.integration.test_daemon_process import many_payloads
from tests.payloads import data_message

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


def balanced(metrics: Counter[str]) -> bool:
    """events_in == indexed + filtered_out + dead-lettered (index) + handed over (rebalances)."""
    filtered = sum(
        v for k, v in metrics.items() if k.startswith("cwlpipe_events_filtered_out_total")
    )
    return metrics["cwlpipe_events_in_total"] == (
        metrics["cwlpipe_events_indexed_total"]
        + filtered
        + metrics['cwlpipe_dead_letters_total{stage="index"}']
        + metrics["cwlpipe_events_handed_over_total"]
    )


def surrogate_delivery() -> bytes:
    """A delivery whose one message holds a lone surrogate: it decodes; no encoder takes it."""
    now = int(time.time() * 1000)
    return (
        b'{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/poison",'
        b'"logStream":"s","subscriptionFilters":["f"],"logEvents":[{"id":"poison-1",'
        b'"timestamp":' + str(now).encode() + b',"message":"\\ud800"}]}'
    )


def overlong_id_delivery(count: int = 600) -> tuple[bytes, str]:
    """``count`` events, one of which has an id over OpenSearch's limit."""
    import gzip

    import orjson

    now = int(time.time() * 1000)
    long_id = "9" * (MAX_ID_BYTES + 88)
    events = [
        {
            "id": long_id if i == count // 2 else f"long-batch-{i}",
            "timestamp": now + i,
            "message": f"event {i}",
        }
        for i in range(count)
    ]
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": "1",
        "logGroup": "/app/ids",
        "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": events,
    }
    return gzip.compress(orjson.dumps(document)), long_id


async def test_poison_overlong_and_huge_refused_records_are_dead_letters_and_the_rest_lands(
    kafka_bootstrap: str, osmem_url: str
) -> None:
    topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
    await create_topics(kafka_bootstrap, {topic: 2, dlq: 1})
    text = config_text(kafka_bootstrap, osmem_url, topic, dlq, group) + ("\nroutes_extra: null\n")
    text = text.replace(
        "routes:\n",
        "routes:\n  - name: big\n    log_groups: ['/big/*']\n    index_prefix: cwlbig\n"
        "    retention_days: 30\n",
    ).replace("\nroutes_extra: null\n", "\n")
    config = parse_config(text, "faults.yaml")
    now = int(time.time() * 1000)
    blocked = day_index("cwlbig", now)
    client = AsyncOpenSearch(hosts=[osmem_url])
    await client.indices.create(index=blocked, body={"settings": {"index.blocks.write": True}})
    await client.close()

    good = many_payloads(12)
    overlong, long_id = overlong_id_delivery()
    big = data_message(["b" * (2 * MIB)], log_group="/big/app", start_ms=now)
    values = [*good[:6], surrogate_delivery(), overlong, big, *good[6:]]
    expected = expected_from_core(config, [*good, overlong])["ids"] - {long_id}
    ends = await produce(kafka_bootstrap, topic, values, partitions=2)

    daemon = build_daemon(config)
    task = asyncio.create_task(serve(daemon))
    await eventually(lambda: drained(kafka_bootstrap, group, ends), "the drain", watch=[task])
    daemon.request_stop()
    assert await asyncio.wait_for(task, 30) == 0

    assert await all_ids(osmem_url) >= expected
    letters = [decode_dead_letter(r.value) for r in await read_all(kafka_bootstrap, dlq, 3)]
    by_stage = Counter(letter.stage for letter in letters)
    assert by_stage == {"process": 1, "index": 2}, letters
    (poison,) = [x for x in letters if x.stage == "process"]
    assert poison.original == values[6] and "surrogate" in poison.reason
    (too_long,) = [x for x in letters if x.document_id == long_id]
    assert f"limit of {MAX_ID_BYTES}" in too_long.reason
    (huge,) = [x for x in letters if x.index == blocked]
    assert huge.original_truncated and huge.original_size and huge.original_size > 2 * MIB
    assert "HTTP 403" in huge.reason
    metrics = _samples(daemon)
    assert balanced(metrics), metrics


def daemon_config(tmp_path: Path, bootstrap: str, store: str, deadline_s: float) -> dict[str, Any]:
    names = {"topic": unique("logs"), "dlq": unique("dlq"), "group": unique("group")}
    port = free_port()
    text = config_text(bootstrap, store, **names, metrics_port=port).replace(
        "shutdown_deadline_s: 20", f"shutdown_deadline_s: {deadline_s}"
    )
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return {**names, "config": path, "port": port, "log": tmp_path / "daemon.log"}


def start_daemon(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


async def ready(port: int, daemon: subprocess.Popen[bytes]) -> bool:
    assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{port}/readyz") as answer,
        ):
            return answer.status == 200
    except aiohttp.ClientError:
        return False


@pytest.mark.parametrize("outage", ["503", "refused", "hang"])
async def test_sigterm_during_a_store_outage_ends_within_the_deadline(
    kafka_bootstrap: str, osmem_url: str, tmp_path: Path, outage: str
) -> None:
    deadline_s = 4.0
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    setup = daemon_config(tmp_path, kafka_bootstrap, proxy.url, deadline_s)
    await create_topics(kafka_bootstrap, {setup["topic"]: 2, setup["dlq"]: 1})
    daemon = start_daemon(setup["config"], setup["log"])
    try:
        await eventually(lambda: ready(setup["port"], daemon), "the daemon to be ready")
        if outage == "503":
            proxy.failing_status = 503
        elif outage == "hang":
            proxy.hang = True
        else:
            await proxy.go_away()
        ends = await produce(kafka_bootstrap, setup["topic"], many_payloads(20), partitions=2)

        async def failing() -> bool:
            assert daemon.poll() is None
            return "store did not take" in setup["log"].read_text() or (
                outage == "hang" and proxy.bulk_requests > 0
            )

        await eventually(failing, f"the store outage ({outage}) to be felt")
        began = time.monotonic()
        daemon.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(daemon.wait, 60)
        took = time.monotonic() - began
    finally:
        if daemon.poll() is None:
            daemon.kill()
        await proxy.stop()
    log = setup["log"].read_text()
    assert code == 0, log
    assert took < deadline_s + 3, f"SIGTERM took {took:.1f} s with a {deadline_s} s deadline"
    assert "Traceback" not in log, log
    done = await committed(kafka_bootstrap, setup["group"], list(ends))
    assert not any(done.values())  # nothing the store never acknowledged was committed


async def test_the_daemon_waits_out_a_broker_restart(osmem_url: str) -> None:
    port = free_port()
    broker = LocalBroker.start(port)
    try:
        bootstrap = broker.bootstrap
        topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
        await create_topics(bootstrap, {topic: 1, dlq: 1})
        config = parse_config(config_text(bootstrap, osmem_url, topic, dlq, group), "b.yaml")
        first = many_payloads(8)
        ends = await produce(bootstrap, topic, first[:4])
        daemon = build_daemon(config)
        task = asyncio.create_task(serve(daemon))
        await eventually(lambda: drained(bootstrap, group, ends), "the first drain", watch=[task])
        broker.stop()  # in memory: the restarted broker has neither topics nor offsets
        await asyncio.sleep(0)
        broker = LocalBroker.start(port)
        await create_topics(bootstrap, {topic: 1, dlq: 1})
        ends = await produce(bootstrap, topic, first[4:])
        await eventually(
            lambda: drained(bootstrap, group, ends), "the drain after the restart", 90, [task]
        )
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
        assert await all_ids(osmem_url) >= expected_from_core(config, first)["ids"]
        assert balanced(_samples(daemon))
    finally:
        broker.stop()


async def test_kill_9_five_times_loses_nothing_and_stores_each_id_once(
    kafka_bootstrap: str, osmem_url: str, tmp_path: Path
) -> None:
    setup = daemon_config(tmp_path, kafka_bootstrap, osmem_url, 10)
    setup["config"].write_text(
        setup["config"].read_text().replace("max_batch_records: 500", "max_batch_records: 3")
    )
    await create_topics(kafka_bootstrap, {setup["topic"]: 2, setup["dlq"]: 1})
    values = many_payloads(150)
    core = parse_config(setup["config"].read_text(), "k.yaml")
    expected = expected_from_core(core, values)
    ends = await produce(kafka_bootstrap, setup["topic"], values, partitions=2)
    chance = random.Random(7)
    for _ in range(5):
        daemon = start_daemon(setup["config"], setup["log"])
        try:
            await eventually(lambda d=daemon: ready(setup["port"], d), "the daemon to be ready")
            await asyncio.sleep(chance.uniform(0.1, 1.0))  # somewhere mid-stream, at random
        finally:
            daemon.kill()
            daemon.wait()
    last = start_daemon(setup["config"], setup["log"])
    try:
        await eventually(lambda: ready(setup["port"], last), "the last run to be ready")
        await eventually(
            lambda: drained(kafka_bootstrap, setup["group"], ends), "the last run to drain", 120
        )
        last.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(last.wait, 30) == 0
    finally:
        if last.poll() is None:
            last.kill()
    client = AsyncOpenSearch(hosts=[osmem_url])
    try:
        count = (
            await client.count(
                index="cwl-*", body={"query": {"ids": {"values": sorted(expected["ids"])}}}
            )
        )["count"]
    finally:
        await client.close()
    assert count == len(expected["ids"])  # every id, and each once
    assert await all_ids(osmem_url) >= expected["ids"]


async def test_a_rebalance_during_slow_writes_loses_nothing_and_no_member_dies(
    kafka_bootstrap: str, osmem_url: str
) -> None:
    topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
    await create_topics(kafka_bootstrap, {topic: 4, dlq: 1})
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    try:
        text = config_text(kafka_bootstrap, proxy.url, topic, dlq, group, batch=5)
        config = parse_config(text, "r.yaml")
        values = many_payloads(60)
        expected = expected_from_core(config, values)
        ends = await produce(kafka_bootstrap, topic, values, partitions=4)
        proxy.delay_s = 3.0  # every bulk write is slow
        members = [build_daemon(config, metrics_port=0), build_daemon(config, metrics_port=0)]
        tasks = [asyncio.create_task(serve(m)) for m in members]
        await eventually(lambda: _any_bulk(proxy), "a first slow write", watch=tasks)
        members.append(
            build_daemon(config, metrics_port=0)
        )  # a third joins while writes are in flight
        tasks.append(asyncio.create_task(serve(members[-1])))
        await eventually(lambda: _any_bulk(proxy, 3), "writes after the join", watch=tasks)
        proxy.delay_s = 0.0
        await eventually(lambda: drained(kafka_bootstrap, group, ends), "the drain", 120, tasks)
        for member in members:
            member.request_stop()
        assert await asyncio.wait_for(asyncio.gather(*tasks), 60) == [0, 0, 0]
    finally:
        await proxy.stop()
    assert await all_ids(osmem_url) >= expected["ids"]
    assert all(balanced(_samples(member)) for member in members)


async def _any_bulk(proxy: FaultProxy, at_least: int = 1) -> bool:
    return proxy.bulk_requests >= at_least


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak RSS is read from /proc")
async def test_huge_records_keep_the_daemons_peak_memory_under_200_mb(
    kafka_bootstrap: str, osmem_url: str, tmp_path: Path
) -> None:
    setup = daemon_config(tmp_path, kafka_bootstrap, osmem_url, 10)
    await create_topics(kafka_bootstrap, {setup["topic"]: 1, setup["dlq"]: 1})
    now = int(time.time() * 1000)
    line = "".join(random.Random(3).choice("abcdefgh ") for _ in range(99)) + "\n"
    values = [
        data_message([f"{i} " + line * (15 * MIB // 100)], start_ms=now + i) for i in range(10)
    ]
    ends = await produce(kafka_bootstrap, setup["topic"], values)
    daemon = start_daemon(setup["config"], setup["log"])
    try:
        await eventually(lambda: drained(kafka_bootstrap, setup["group"], ends), "the drain", 180)
        peak = peak_rss_kib(daemon.pid)
        daemon.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(daemon.wait, 30) == 0
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert peak < 200 * 1024, f"peak RSS {peak // 1024} MiB"
