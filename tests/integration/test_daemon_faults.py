"""Faults on real servers: the store down for a while, two daemons in one group."""

from __future__ import annotations

import asyncio
import time

import orjson
import pytest
from opensearchpy import AsyncOpenSearch

from consumers.cli.run import build_daemon, serve
from consumers.devtools.sample_data import sample_payloads
from consumers.kafka.dead_letters import decode_dead_letter
from pipeline.process import Processor
from tests.integration.fault_proxy import FaultProxy
from tests.integration.kafka_helpers import create_topics, eventually, produce, read_all, unique
from tests.integration.test_daemon_end_to_end import (
    _samples,
    all_ids,
    config_for,
    drained,
    expected_from_core,
)

pytestmark = pytest.mark.integration


def good_values(copies: int = 1) -> list[bytes]:
    now = int(time.time() * 1000)
    values = []
    for copy in range(copies):
        values += [p.data for p in sample_payloads(now + copy * 1000, seed=copy) if p.good]
    return values


@pytest.mark.parametrize("status", [503, 429])
async def test_store_down_or_throttling_pauses_retries_and_resumes_without_loss(
    kafka_bootstrap: str, osmem_url: str, status: int
) -> None:
    topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
    await create_topics(kafka_bootstrap, {topic: 2, dlq: 1})
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    try:
        config = config_for(kafka_bootstrap, proxy.url, topic, dlq, group)
        values = good_values()
        expected = expected_from_core(config, values)
        daemon = build_daemon(config)
        proxy.failing_status = status
        ends = await produce(kafka_bootstrap, topic, values, partitions=2)
        task = asyncio.create_task(serve(daemon))

        async def paused() -> bool:
            return daemon.loop.source_paused

        await eventually(paused, "the daemon to pause its partitions", watch=[task])
        assert not await drained(kafka_bootstrap, group, ends)  # nothing committed while down
        refused_while_down = proxy.refused
        assert refused_while_down >= 2
        proxy.failing_status = None  # the store is back

        await eventually(
            lambda: drained(kafka_bootstrap, group, ends), "the backlog to drain", watch=[task]
        )
        assert not daemon.loop.source_paused
        daemon.request_stop()
        assert await asyncio.wait_for(task, 30) == 0
        assert await all_ids(osmem_url) == expected["ids"]
        metrics = _samples(daemon)
        assert metrics[f'cwlpipe_throttles_total{{reason="{status}"}}'] >= refused_while_down
        assert metrics["cwlpipe_paused"] == 0
        assert metrics["cwlpipe_dead_letters_total"] == 0  # nothing given up on
    finally:
        await proxy.stop()


async def test_two_daemons_share_the_partitions_and_lose_nothing(
    kafka_bootstrap: str, osmem_url: str
) -> None:
    topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
    await create_topics(kafka_bootstrap, {topic: 4, dlq: 1})
    config = config_for(kafka_bootstrap, osmem_url, topic, dlq, group)
    first, second = build_daemon(config, metrics_port=0), build_daemon(config, metrics_port=0)
    tasks = [asyncio.create_task(serve(first)), asyncio.create_task(serve(second))]

    async def both_assigned() -> bool:
        one, two = first.source.assignment, second.source.assignment
        return bool(one) and bool(two) and len(one | two) == 4 and not one & two

    await eventually(both_assigned, "both daemons to own partitions", watch=tasks)
    values = good_values(copies=3)
    expected = expected_from_core(config, values)
    ends = await produce(kafka_bootstrap, topic, values, partitions=4)
    await eventually(
        lambda: drained(kafka_bootstrap, group, ends), "the group to drain", watch=tasks
    )
    for daemon in (first, second):
        daemon.request_stop()
    assert await asyncio.wait_for(asyncio.gather(*tasks), 30) == [0, 0]
    assert await all_ids(osmem_url) == expected["ids"]
    processed = [_samples(d)["cwlpipe_records_in_total"] for d in (first, second)]
    assert all(count > 0 for count in processed)
    assert sum(processed) >= len(values)  # a rebalance may hand some records over twice


async def test_documents_the_store_refuses_go_to_the_dead_letters_with_its_reason(
    kafka_bootstrap: str, osmem_url: str
) -> None:
    topic, dlq, group = unique("logs"), unique("dlq"), unique("group")
    await create_topics(kafka_bootstrap, {topic: 1, dlq: 1})
    config = config_for(kafka_bootstrap, osmem_url, topic, dlq, group)
    values = good_values()
    processor_actions = [
        action for value in values for action in Processor(config.core).process(value).actions
    ]
    days = sorted({action.index for action in processor_actions})
    blocked = days[-1]  # today's index is read-only: every document for it is refused (403)
    client = AsyncOpenSearch(hosts=[osmem_url])
    await client.indices.create(index=blocked, body={"settings": {"index.blocks.write": True}})
    await client.close()
    refused = [a for a in processor_actions if a.index == blocked]
    assert refused

    ends = await produce(kafka_bootstrap, topic, values)
    daemon = build_daemon(config)
    task = asyncio.create_task(serve(daemon))
    await eventually(
        lambda: drained(kafka_bootstrap, group, ends), "the batch to commit", watch=[task]
    )
    daemon.request_stop()
    assert await asyncio.wait_for(task, 30) == 0

    letters = [
        decode_dead_letter(r.value) for r in await read_all(kafka_bootstrap, dlq, len(refused))
    ]
    assert len(letters) == len(refused)
    assert {letter.stage for letter in letters} == {"index"}
    assert {letter.document_id for letter in letters} == {a.id for a in refused}
    assert all(
        "cluster_block_exception" in letter.reason and "HTTP 403" in letter.reason
        for letter in letters
    )
    assert all(orjson.loads(letter.original)["@id"] == letter.document_id for letter in letters)
    assert _samples(daemon)['cwlpipe_dead_letters_total{stage="index"}'] == len(refused)
