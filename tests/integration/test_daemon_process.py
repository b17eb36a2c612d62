"""``cwlpipe run`` as a real process: SIGTERM exits cleanly, kill -9 and a restart lose nothing."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from aiokafka import TopicPartition

from consumers.devtools.local_servers import free_ports
from consumers.devtools.sample_data import sample_payloads
from tests.integration.kafka_helpers import committed, create_topics, eventually, produce, unique
from tests.integration.test_daemon_end_to_end import (
    all_ids,
    config_for,
    config_text,
    drained,
    expected_from_core,
)

pytestmark = pytest.mark.integration


def start(config: Path, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "run", "--config", str(config)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def many_payloads(count: int) -> list[bytes]:
    now = int(time.time() * 1000)
    values: list[bytes] = []
    seed = 0
    while len(values) < count:
        values += [p.data for p in sample_payloads(now - seed, seed=seed) if p.good]
        seed += 1
    return values[:count]


@pytest.fixture
async def setup(kafka_bootstrap: str, osmem_url: str, tmp_path: Path) -> dict[str, Any]:
    names = {"topic": unique("logs"), "dlq": unique("dlq"), "group": unique("group")}
    await create_topics(kafka_bootstrap, {names["topic"]: 2, names["dlq"]: 1})
    config = tmp_path / "pipeline.yaml"
    port = free_ports(2)  # --workers 2 serves metrics on port and port + 1
    config.write_text(config_text(kafka_bootstrap, osmem_url, **names, batch=2, metrics_port=port))
    core = config_for(kafka_bootstrap, osmem_url, names["topic"], names["dlq"], names["group"])
    return {**names, "config": config, "core": core, "log": tmp_path / "daemon.log"}


async def partly_committed(
    bootstrap: str, group: str, ends: dict[TopicPartition, int], daemon: subprocess.Popen[bytes]
) -> bool:
    assert daemon.poll() is None, f"the daemon exited with {daemon.returncode}"
    done = await committed(bootstrap, group, list(ends))
    return any(done[p] > 0 for p in ends) and not all(done[p] >= e for p, e in ends.items())


async def test_sigterm_finishes_the_batch_commits_and_exits_zero(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    values = many_payloads(60)
    ends = await produce(kafka_bootstrap, setup["topic"], values, partitions=2)
    daemon = start(setup["config"], setup["log"])
    try:
        await eventually(
            lambda: partly_committed(kafka_bootstrap, setup["group"], ends, daemon),
            "a first commit",
        )
        daemon.send_signal(signal.SIGTERM)
        code = await asyncio.to_thread(daemon.wait, 30)
    finally:
        if daemon.poll() is None:
            daemon.kill()
    assert code == 0, setup["log"].read_text()
    # everything below the committed offsets is in the store: nothing committed past the store
    done = await committed(kafka_bootstrap, setup["group"], list(ends))
    processed: list[bytes] = []
    for index, value in enumerate(values):
        partition = TopicPartition(setup["topic"], index % 2)
        if index // 2 < done[partition]:
            processed.append(value)
    assert processed
    stored = await all_ids(osmem_url)
    assert expected_from_core(setup["core"], processed)["ids"] <= stored


async def test_kill_9_mid_stream_then_restart_loses_nothing(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    values = many_payloads(80)
    expected = expected_from_core(setup["core"], values)
    ends = await produce(kafka_bootstrap, setup["topic"], values, partitions=2)
    first = start(setup["config"], setup["log"])
    try:
        await eventually(
            lambda: partly_committed(kafka_bootstrap, setup["group"], ends, first), "a first commit"
        )
    finally:
        first.kill()  # SIGKILL: no flush, no commit, no goodbye to the group
        first.wait()
    second = start(setup["config"], setup["log"])
    try:
        await eventually(
            lambda: drained(kafka_bootstrap, setup["group"], ends), "the restart to drain", 120
        )
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0
    finally:
        if second.poll() is None:
            second.kill()
    stored = await all_ids(osmem_url)
    assert stored == expected["ids"]  # every event, each _id once


async def test_workers_share_the_group_and_stop_together(
    kafka_bootstrap: str, osmem_url: str, setup: dict[str, Any]
) -> None:
    values = many_payloads(40)
    expected = expected_from_core(setup["core"], values)
    ends = await produce(kafka_bootstrap, setup["topic"], values, partitions=2)
    supervisor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "consumers.cli",
            "run",
            "--config",
            str(setup["config"]),
            "--workers",
            "2",
        ],
        stdout=setup["log"].open("ab"),
        stderr=subprocess.STDOUT,
    )
    try:
        await eventually(
            lambda: drained(kafka_bootstrap, setup["group"], ends), "the workers to drain", 120
        )
        supervisor.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(supervisor.wait, 40) == 0, setup["log"].read_text()
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
    assert await all_ids(osmem_url) == expected["ids"]
    assert setup["log"].read_text().count("retention:") >= 2  # both workers started
