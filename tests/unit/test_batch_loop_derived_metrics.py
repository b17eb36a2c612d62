"""Derived metrics (Lambda, EMF, metric filters) leave the event loop: the worker thread adds
them once their batch is committed, for the partitions still owned."""

from __future__ import annotations

import threading

from consumers.runtime.protocols import Partition
from consumers.testing import SinkStep
from pipeline.derived_metrics import DerivedMetrics
from tests.payloads import data_message
from tests.unit.loop_harness import P0, P1, Harness, record
from tests.unit.test_batch_pipelining import Watching, run, when

REPORT = (
    "REPORT RequestId: {rid}\tDuration: 15.0 ms\tBilled Duration: 16 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 64 MB"
)


def invocations(partition: int, offset: int, n: int = 2) -> bytes:
    start = 1_795_000_000_000 + 1000 * (partition * 1000 + offset)
    lines = [REPORT.format(rid=f"p{partition}-o{offset}-{i}") for i in range(n)]
    return data_message(lines, start_ms=start)


def invocations_counted(harness: Harness) -> float:
    return harness.value("cwlpipe_lambda_invocations_total", function="orders")


class Spying:
    """Wraps the exporter's ``observe``: where it ran and what the store had by then."""

    def __init__(self, harness: Harness) -> None:
        self.threads: list[str] = []
        self.committed_then: list[dict[Partition, int]] = []
        exporter = harness.metrics.derived
        observe = exporter.observe

        def spying(derived: DerivedMetrics) -> None:
            self.threads.append(threading.current_thread().name)
            self.committed_then.append(dict(harness.source.committed))
            observe(derived)

        exporter.observe = spying  # type: ignore[method-assign]


async def test_derived_metrics_are_added_in_the_worker_thread_after_the_commit() -> None:
    records = [record(0, 0, invocations(0, 0)), record(1, 0, invocations(1, 0))]
    harness = Harness(records)
    spy = Spying(harness)
    await run(harness)
    assert invocations_counted(harness) == 4
    assert spy.threads and threading.main_thread().name not in spy.threads
    assert all(committed == {P0: 1, P1: 1} for committed in spy.committed_then)


async def test_handle_returns_once_its_derived_metrics_are_added() -> None:
    harness = Harness([record(0, 0, invocations(0, 0, n=3))])
    assert await harness.loop.handle(await harness.source.fetch(0))
    assert invocations_counted(harness) == 3


async def test_a_partition_revoked_before_the_commit_leaves_its_derived_metrics_to_its_owner() -> (
    None
):
    records = [record(0, 0, invocations(0, 0)), record(1, 0, invocations(1, 0, n=5))]
    processor = Watching(when(records[1].value, lambda: harness.source.revoke(P1)))
    harness = Harness(records, processor=processor)
    assert await harness.loop.handle(await harness.source.fetch(0))
    assert invocations_counted(harness) == 2  # P0's two, not P1's five
    assert harness.source.committed == {P0: 1}


async def test_a_batch_given_up_at_the_stop_deadline_adds_no_derived_metrics() -> None:
    harness = Harness([record(0, 0, invocations(0, 0))])
    harness.sink.forever = SinkStep(status=503)
    harness.stop.request(0.05)
    assert not await harness.loop.handle(await harness.source.fetch(0))
    assert invocations_counted(harness) == 0
    assert harness.source.committed == {}
