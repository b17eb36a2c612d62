"""The daemon benchmark's runs on real servers: ``cwlpipe run`` drains a backlog into the
blackhole completely, with one worker and with two in one group. Counts are asserted, never
time (``python -m bench daemon`` prints the rates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.daemon import PARTITIONS, Backlog, Site, blackhole_run, can_pin
from bench.harness import create_topics, produce
from consumers.config import DEFAULT_CONFIG, load_config
from tests.integration.kafka_helpers import unique

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="CPU time is read from /proc"),
]


async def test_the_daemon_drains_a_backlog_into_the_blackhole_with_one_and_two_workers(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    backlog = Backlog(load_config(DEFAULT_CONFIG, env={}), 10_000)
    topic = unique("bench-logs")
    await create_topics(kafka_bootstrap, {topic: PARTITIONS})
    await produce(kafka_bootstrap, topic, backlog.values, PARTITIONS)
    site = Site(kafka_bootstrap, None, tmp_path)
    for workers in (1, 2):
        run = await blackhole_run(site, topic, backlog, workers)  # raises on a short count
        assert run["workers"] == workers
        assert run["bulk_requests"] >= 10  # at most 1,000 documents a request
        assert run["unknown_store_calls"] == []
        assert run["cpu_s"] > 0 and run["events_per_cpu_s"] > 0
        assert run["window_documents"] == 7_000  # from 20% to 90% of the 10,000
        assert run["whole_cpu_s"] > run["cpu_s"]


@pytest.mark.skipif(not can_pin(), reason="needs two CPUs and Linux CPU affinity")
async def test_the_metered_run_measures_the_core_over_the_daemon_s_window(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    backlog = Backlog(load_config(DEFAULT_CONFIG, env={}), 20_000)
    topic = unique("bench-logs")
    await create_topics(kafka_bootstrap, {topic: PARTITIONS})
    await produce(kafka_bootstrap, topic, backlog.values, PARTITIONS)
    run = await blackhole_run(
        Site(kafka_bootstrap, None, tmp_path), topic, backlog, 1, metered=True
    )
    assert run["pinned"] is True
    assert run["core_alongside_events_per_cpu_s"] > 0  # the meter worked through the window
