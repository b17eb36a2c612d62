"""The loop two batches deep: the next batch is processed while the previous one is written.

Overlap is proven by waiting, not by timing: a write that waits for the
processor to be called for the next batch can only finish when the two run
at once. ``GUARD_S`` only turns a missing overlap into a failure instead of
a hang; no assertion depends on how long anything takes. The sink's hooks
record and never assert: the loop takes an exception from a write for a
failing store and retries it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence

from consumers.kafka.dead_letters import DeadLetterRecord
from consumers.opensearch.sink import encode_document
from consumers.runtime.protocols import Document, Partition, Record
from consumers.testing import MemoryDeadLetters, SinkStep
from pipeline.process import Outcome, Processor
from tests.unit.loop_harness import (
    CONFIG,
    P0,
    P1,
    Harness,
    expected_writes,
    good,
    record,
    writes,
)

GUARD_S = 10.0
IDLE_S = 0.05


class FromThread:
    """An event the worker thread sets and the event loop awaits."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def set(self) -> None:
        self._loop.call_soon_threadsafe(self._event.set)

    async def arrived(self) -> bool:
        try:
            await asyncio.wait_for(self._event.wait(), GUARD_S)
        except TimeoutError:
            return False
        return True


class Watching:
    """The core, calling ``on_record`` (in the worker thread) before each record it processes."""

    def __init__(self, on_record: Callable[[bytes | None], None] = lambda value: None) -> None:
        self.core = Processor(CONFIG.core)
        self.on_record = on_record
        self.seen: list[bytes | None] = []

    def process(self, value: bytes | None) -> Outcome:
        self.seen.append(value)
        self.on_record(value)
        return self.core.process(value)


async def run(harness: Harness) -> None:
    """The loop until it idles, or a failure at ``GUARD_S`` rather than a hang."""
    await asyncio.wait_for(harness.loop.run(until_idle=IDLE_S), GUARD_S)


def when(value: bytes, then: Callable[[], None]) -> Callable[[bytes | None], None]:
    return lambda seen: then() if seen == value else None


async def processing_settled(harness: Harness) -> None:
    """Every batch handed to the worker thread is processed: the executor has one thread and
    runs in order, so a no-op submitted now finishes after them."""
    await asyncio.get_running_loop().run_in_executor(harness.loop._executor, lambda: None)


def weight(records: Sequence[Record]) -> int:
    """What the loop counts for records: their values and their encoded documents."""
    core = Processor(CONFIG.core)
    return sum(
        len(r.value) + sum(len(encode_document(a, r).body) for a in core.process(r.value).actions)
        for r in records
    )


def written_weight(documents: Sequence[Document]) -> int:
    origins = {d.origin for d in documents}
    return sum(len(d.body) for d in documents) + sum(len(r.value) for r in origins)


async def test_the_next_batch_is_processed_while_the_previous_one_is_written() -> None:
    records = [good(0, 0), good(0, 1), good(0, 2)]
    started = FromThread()
    harness = Harness(records, processor=Watching(when(records[1].value, started.set)))
    overlapped: list[bool] = []

    async def first_write_waits_for_the_next_batch(documents: Sequence[Document]) -> None:
        if not overlapped:
            overlapped.append(await started.arrived())

    harness.source.max_records = 1
    harness.sink.before_write = first_write_waits_for_the_next_batch
    await run(harness)
    assert overlapped == [True]
    assert writes(harness.sink) == expected_writes(records)
    assert harness.source.committed == {P0: 3}


async def test_a_batch_processed_first_is_still_committed_after_the_one_before_it() -> None:
    records = [good(0, 0), good(0, 1), good(0, 2)]
    started = FromThread()
    harness = Harness(records, processor=Watching(when(records[1].value, started.set)))
    harness.source.max_records = 1
    committed_when_next_was_ready: list[dict[Partition, int]] = []

    async def first_write_waits_until_the_next_batch_is_ready(
        documents: Sequence[Document],
    ) -> None:
        if not committed_when_next_was_ready and await started.arrived():
            await processing_settled(harness)
            committed_when_next_was_ready.append(dict(harness.source.committed))

    harness.sink.before_write = first_write_waits_until_the_next_batch_is_ready
    await run(harness)
    assert committed_when_next_was_ready == [{}]
    assert harness.source.commits == [{P0: 1}, {P0: 2}, {P0: 3}]


async def test_a_partition_revoked_while_the_next_batch_is_processed_is_left_to_its_owner() -> None:
    records = [good(0, 0), good(1, 0)]
    started, release = FromThread(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(GUARD_S)

    harness = Harness(records, max_records=1, processor=Watching(when(records[1].value, hold)))

    async def revoke_during_the_next_batchs_processing(documents: Sequence[Document]) -> None:
        if await started.arrived() and not release.is_set():
            harness.source.revoke(P1)
            release.set()

    harness.sink.before_write = revoke_during_the_next_batchs_processing
    await run(harness)
    assert release.is_set()
    assert writes(harness.sink) == expected_writes(records[:1])
    assert all(P1 not in commit for commit in harness.source.commits)
    assert harness.source.committed == {P0: 1}
    assert harness.value("cwlpipe_events_handed_over_total") == 2
    assert harness.books_balance()


async def test_a_partition_assigned_back_meanwhile_is_written_once_under_its_new_assignment() -> (
    None
):
    """Assigned again, it is read again from its committed offset: what the batch processed
    under the old assignment must not be written too, nor committed out of turn."""
    records = [good(0, 0), good(1, 0)]
    started, release = FromThread(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(GUARD_S)

    processor = Watching(when(records[1].value, hold))
    harness = Harness(records, max_records=1, processor=processor)

    async def rebalance_during_the_next_batchs_processing(documents: Sequence[Document]) -> None:
        if not release.is_set() and await started.arrived():
            harness.source.revoke(P1)
            harness.source.assign(P1)
            release.set()

    harness.sink.before_write = rebalance_during_the_next_batchs_processing
    await run(harness)
    assert processor.seen.count(records[1].value) == 2  # read again under the new assignment
    assert writes(harness.sink) == expected_writes(records)  # each once
    assert harness.source.committed == {P0: 1, P1: 1}
    assert harness.value("cwlpipe_events_handed_over_total") == 2
    assert harness.books_balance()


async def test_a_failed_record_of_a_partition_revoked_meanwhile_is_not_dead_lettered() -> None:
    records = [good(0, 0), record(1, 0, b"not a payload")]
    started, release = FromThread(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(GUARD_S)

    harness = Harness(records, max_records=1, processor=Watching(when(records[1].value, hold)))

    async def revoke_during_the_next_batchs_processing(documents: Sequence[Document]) -> None:
        if await started.arrived() and not release.is_set():
            harness.source.revoke(P1)
            release.set()

    harness.sink.before_write = revoke_during_the_next_batchs_processing
    await run(harness)
    assert harness.dead_letters.records == []  # the new owner writes it
    assert harness.value("cwlpipe_records_in_total") == 1  # and counts it
    assert harness.source.committed == {P0: 1}


async def test_while_the_store_refuses_the_next_batch_waits_and_nothing_more_is_fetched() -> None:
    records = [good(0, offset) for offset in range(4)]
    processor = Watching()
    harness = Harness(records, max_records=1, processor=processor)
    seen: list[tuple[int, int, bool]] = []

    async def observe(documents: Sequence[Document]) -> None:
        if harness.sink.writes <= 4:  # the first batch's attempts
            await processing_settled(harness)
            seen.append((len(harness.source.fetched), len(processor.seen), harness.source.paused))

    harness.sink.before_write = observe
    harness.sink.script = [SinkStep(503) for _ in range(3)]
    await run(harness)
    # batch 1 retried three times: batch 2 fetched and processed beside it, batch 3 not fetched
    assert [(fetched, processed) for fetched, processed, _ in seen] == [(2, 2)] * 4
    assert [paused for _, _, paused in seen] == [False, True, True, True]
    assert harness.source.commits == [{P0: 1}, {P0: 2}, {P0: 3}, {P0: 4}]
    assert not harness.source.paused
    assert writes(harness.sink) == expected_writes(records)


async def test_at_the_stop_deadline_both_batches_are_rewound_and_nothing_committed() -> None:
    records = [good(0, 0), good(0, 1), good(0, 2)]
    harness = Harness(records, max_records=1)
    harness.sink.forever = SinkStep(503)
    harness.sink.script = [SinkStep(503, action=lambda: harness.stop.request(0.02))]
    await asyncio.wait_for(harness.loop.run(), GUARD_S)
    assert len(harness.source.fetched) == 2
    assert harness.source.commits == []
    assert harness.value("cwlpipe_abandoned_batches_total") == 2
    assert harness.value("cwlpipe_events_in_total") == 0
    assert harness.value("cwlpipe_records_in_total") == 0
    assert harness.loop.bytes_in_hand == 0
    # read again from the first batch's first record: nothing skipped once the store answers
    harness.sink.forever = None
    await harness.drain()
    assert writes(harness.sink) == expected_writes(records)
    assert harness.source.committed == {P0: 3}


async def test_a_stop_during_overlap_finishes_both_batches_in_hand_and_fetches_no_more() -> None:
    records = [good(0, 0), good(0, 1), good(0, 2)]
    harness = Harness(records, max_records=1)
    harness.sink.script = [SinkStep(action=lambda: harness.stop.request(GUARD_S))]
    await asyncio.wait_for(harness.loop.run(), GUARD_S)
    assert len(harness.source.fetched) == 2
    assert harness.source.commits == [{P0: 1}, {P0: 2}]
    assert writes(harness.sink) == expected_writes(records[:2])
    assert harness.value("cwlpipe_abandoned_batches_total") == 0


async def test_the_batches_in_hand_keep_at_most_the_byte_budget_plus_one_record() -> None:
    records = [good(0, offset, n=1 + 7 * (offset % 4)) for offset in range(12)]
    heaviest = max(weight([r]) for r in records)
    budget = 3 * heaviest
    harness = Harness(records, max_records=3, max_batch_bytes=budget)
    in_hand: list[tuple[int, int]] = []

    async def observe(documents: Sequence[Document]) -> None:
        await processing_settled(harness)  # the batch beside this one weighs all it will
        in_hand.append((harness.loop.bytes_in_hand, written_weight(documents)))

    harness.sink.before_write = observe
    await run(harness)
    assert writes(harness.sink) == expected_writes(records)
    assert all(held <= budget + heaviest for held, _ in in_hand)
    assert any(held > written for held, written in in_hand)  # two batches were in hand at once
    assert all(written <= budget // 2 + heaviest for _, written in in_hand)


async def test_a_batch_that_fills_the_budget_is_written_before_the_next_is_fetched() -> None:
    heavy = good(0, 0, n=40)
    records = [heavy, good(0, 1), good(0, 2)]
    harness = Harness(records, max_records=1, max_batch_bytes=weight([heavy]))
    fetched_at_write: list[int] = []

    async def observe(documents: Sequence[Document]) -> None:
        fetched_at_write.append(len(harness.source.fetched))

    harness.sink.before_write = observe
    await run(harness)
    assert fetched_at_write == [1, 3, 3]  # the heavy one alone; the light ones side by side
    assert harness.source.committed == {P0: 3}


async def test_a_batch_takes_half_the_budget_so_the_next_fits_beside_it() -> None:
    records = [good(0, offset) for offset in range(4)]
    half = weight(records[:2]) - 1  # the second record crosses it
    harness = Harness(records, max_batch_bytes=2 * half + 1)
    await harness.loop.handle(await harness.source.fetch(0))
    assert harness.source.commits == [{P0: 2}]


async def test_a_dead_letter_retried_during_overlap_holds_back_the_batch_after_next() -> None:
    records = [record(0, 0, b"not a payload"), good(0, 1), good(0, 2)]
    harness = Harness(records, max_records=1)
    fetched_at_attempt: list[int] = []

    class Observed(MemoryDeadLetters):
        async def send(self, dead_letter: DeadLetterRecord) -> None:
            fetched_at_attempt.append(len(harness.source.fetched))
            await super().send(dead_letter)

    harness.dead_letters = harness.loop.dead_letters = Observed()
    harness.dead_letters.fail = 3
    await run(harness)
    assert fetched_at_attempt == [2, 2, 2, 2]  # the next batch beside it, no third
    assert harness.source.commits == [{P0: 1}, {P0: 2}, {P0: 3}]
    assert writes(harness.sink) == expected_writes(records[1:])
