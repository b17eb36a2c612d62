"""Every path of the batch loop, on the in-package doubles: milliseconds each, no servers."""

from __future__ import annotations

import asyncio
import threading

import orjson
import pytest

from consumers.runtime.protocols import Partition
from consumers.runtime.retry import RetryPolicy
from consumers.testing import ScriptedSink, SinkStep
from pipeline.process import Outcome, Processor
from tests.unit.loop_harness import (
    CONFIG,
    P0,
    P1,
    TOPIC,
    Harness,
    expected_ids,
    good,
    record,
    surrogate_record,
)


async def test_every_document_is_stored_and_every_offset_committed() -> None:
    records = [good(0, 0), good(0, 1), good(1, 0)]
    harness = Harness(records)
    await harness.drain()
    assert set(harness.sink.stored) == expected_ids(records)
    assert harness.source.committed == {P0: 2, P1: 1}
    assert harness.value("cwlpipe_events_in_total") == 6
    assert harness.value("cwlpipe_events_indexed_total") == 6


async def test_a_lone_surrogate_becomes_a_process_dead_letter_and_the_rest_is_indexed() -> None:
    records = [good(0, 0), surrogate_record(0, 1), good(0, 2)]
    harness = Harness(records)
    await harness.drain()
    (dead,) = harness.dead_letters.records
    assert (dead.stage, dead.offset, dead.original) == ("process", 1, records[1].value)
    assert "surrogate" in dead.reason or "UTF-8" in dead.reason
    assert set(harness.sink.stored) == expected_ids([records[0], records[2]])
    assert harness.source.committed == {P0: 3}
    # the failed record's events are not counted as events in: the books still balance
    assert harness.value("cwlpipe_events_in_total") == harness.value("cwlpipe_events_indexed_total")


class Exploding:
    def process(self, value: bytes | None) -> Outcome:
        if value == b"boom":
            raise ZeroDivisionError("a bug in the core")
        return Processor(CONFIG.core).process(value)


async def test_an_exception_in_the_core_is_that_records_dead_letter_not_an_exit() -> None:
    records = [good(0, 0), record(0, 1, b"boom")]
    harness = Harness(records, processor=Exploding())
    await harness.drain()
    (dead,) = harness.dead_letters.records
    assert dead.stage == "process" and dead.reason == "ZeroDivisionError: a bug in the core"
    assert harness.value("cwlpipe_errors_total", stage="process") == 1
    assert harness.source.committed == {P0: 2}


async def test_a_store_that_refuses_pauses_the_source_and_nothing_is_committed_until_it_answers() -> (
    None
):
    committed_while_failing: list[dict[Partition, int]] = []
    harness = Harness([good(0, 0)])
    paused_during_retry: list[bool] = []

    def observe() -> None:
        committed_while_failing.append(dict(harness.source.committed))
        paused_during_retry.append(harness.source.paused)

    lags: list[int] = []

    def lag() -> None:
        lags.append(harness.value("cwlpipe_consumer_lag_records", topic=TOPIC, partition="0"))

    harness.sink.script = [
        SinkStep(503, action=observe),
        SinkStep(503, action=lag),
        SinkStep("connection", action=observe),
        SinkStep(429, action=observe),
        SinkStep(action=observe),
    ]
    await harness.drain()
    assert committed_while_failing[:3] == [{}, {}, {}]
    assert paused_during_retry == [False, True, True, True]
    assert lags == [1]  # the record in flight counts as lag while the store refuses
    assert not harness.source.paused  # resumed once the store answered
    assert harness.value("cwlpipe_paused") == 0
    assert harness.source.committed == {P0: 1}


async def test_a_partition_revoked_during_a_slow_write_is_not_committed_and_nothing_crashes() -> (
    None
):
    records = [good(0, 0), good(1, 0)]
    harness = Harness(records)
    harness.sink.script = [SinkStep(seconds=0.01, action=lambda: harness.source.revoke(P1))]
    batch = await harness.source.fetch(0)
    assert await harness.loop.handle(batch)
    assert harness.source.committed == {P0: 1}  # P1's new owner reads it again


async def test_documents_of_a_revoked_partition_are_not_retried_by_the_old_owner() -> None:
    harness = Harness([good(0, 0), good(1, 0)])

    def revoke() -> None:
        harness.source.revoke(P1)

    harness.sink.script = [SinkStep(503, action=revoke)]
    batch = await harness.source.fetch(0)
    assert await harness.loop.handle(batch)
    assert set(harness.sink.stored) == expected_ids([batch[0]])
    # the books still balance: P1's two events are handed over, not lost
    assert harness.value("cwlpipe_events_handed_over_total") == 2
    assert harness.value("cwlpipe_events_in_total") == (
        harness.value("cwlpipe_events_indexed_total")
        + harness.value("cwlpipe_events_handed_over_total")
    )


async def test_a_failed_commit_is_counted_and_the_next_commit_catches_up() -> None:
    harness = Harness([good(0, 0), good(0, 1)], max_records=1)
    harness.source.fail_commits = 1
    await harness.loop.handle(await harness.source.fetch(0))
    assert harness.source.committed == {}
    assert harness.value("cwlpipe_commit_failures_total") == 1
    await harness.loop.handle(await harness.source.fetch(0))
    assert harness.source.committed == {P0: 2}


async def test_past_the_stop_deadline_the_batch_is_abandoned_and_read_again() -> None:
    harness = Harness([good(0, 0)])
    harness.sink.forever = SinkStep(503)
    harness.stop.request(0.05)
    batch = await harness.source.fetch(0)
    assert await harness.loop.handle(batch) is False
    assert harness.source.committed == {}
    assert harness.source.position[P0] == 0  # rewound
    assert harness.value("cwlpipe_abandoned_batches_total") == 1
    assert harness.value("cwlpipe_events_in_total") == 0


async def test_a_stop_during_a_long_backoff_ends_it_at_the_deadline() -> None:
    harness = Harness([good(0, 0)])
    harness.loop.policy = RetryPolicy(3600.0, 3600.0)  # an hour between retries
    harness.sink.forever = SinkStep(503)
    batch = await harness.source.fetch(0)
    handling = asyncio.create_task(harness.loop.handle(batch))
    while harness.sink.writes == 0:
        await asyncio.sleep(0)
    harness.stop.request(0.01)
    assert await asyncio.wait_for(handling, 5) is False


async def test_a_failing_dead_letter_write_is_retried_until_it_lands() -> None:
    harness = Harness([record(0, 0, b"not a payload")])
    harness.dead_letters.fail = 3
    await harness.drain()
    assert len(harness.dead_letters.records) == 1
    assert harness.dead_letters.attempts == 4
    assert harness.value("cwlpipe_dead_letter_errors_total") == 3
    assert harness.source.committed == {P0: 1}


async def test_a_dead_letter_refused_for_good_is_sent_without_its_original() -> None:
    harness = Harness([record(0, 0, b"not a payload")])
    harness.dead_letters.fail = 1
    harness.dead_letters.retriable = False
    await harness.drain()
    (dead,) = harness.dead_letters.records
    assert dead.original == b"" and dead.original_truncated
    assert dead.original_size == len(b"not a payload")
    assert "original dropped" in dead.reason
    assert harness.source.committed == {P0: 1}


async def test_a_dead_letter_that_cannot_be_written_by_the_deadline_leaves_the_batch_uncommitted() -> (
    None
):
    harness = Harness([record(0, 0, b"not a payload")])
    harness.dead_letters.fail = 10**9
    harness.stop.request(0.05)
    assert await harness.loop.handle(await harness.source.fetch(0)) is False
    assert harness.source.committed == {}


async def test_a_refused_document_is_an_index_dead_letter_with_the_stores_reason() -> None:
    records = [good(0, 0)]
    (first, second) = sorted(expected_ids(records))
    harness = Harness(records, sink=ScriptedSink(refuse={first: (400, "mapper_parsing_exception")}))
    await harness.drain()
    (dead,) = harness.dead_letters.records
    assert (dead.stage, dead.document_id) == ("index", first)
    assert dead.reason == "HTTP 400: mapper_parsing_exception"
    assert orjson.loads(dead.original)["@id"] == first
    assert set(harness.sink.stored) == {second}
    events = harness.value("cwlpipe_events_in_total")
    indexed = harness.value("cwlpipe_events_indexed_total")
    refused = harness.value("cwlpipe_dead_letters_total", stage="index")
    assert events == indexed + refused == 2


async def test_a_batch_stops_taking_records_once_its_documents_reach_the_byte_bound() -> None:
    records = [good(0, offset, n=50) for offset in range(4)]
    harness = Harness(records, max_batch_bytes=1)
    batch = await harness.source.fetch(0)
    assert len(batch) == 4
    await harness.loop.handle(batch)
    assert harness.source.committed == {P0: 1}  # one record, the rest given back
    await harness.drain()
    assert set(harness.sink.stored) == expected_ids(records)


async def test_a_fetch_error_is_waited_out_and_the_loop_goes_on() -> None:
    harness = Harness([good(0, 0)])
    harness.source.fetch_error = ConnectionError("broker away")
    await harness.loop.run(until_idle=0.05)
    assert harness.source.committed == {P0: 1}


async def test_the_event_loop_keeps_answering_while_a_batch_is_processed() -> None:
    """The core runs off the event loop: a task on the loop must run while it works."""
    loop_ran = threading.Event()

    class Waiting:
        def process(self, value: bytes | None) -> Outcome:
            if not loop_ran.wait(timeout=5):
                raise AssertionError("the event loop was held while processing")
            return Outcome()

    harness = Harness([record(0, 0, b"x")], processor=Waiting())

    async def beside() -> None:
        await asyncio.sleep(0.01)
        loop_ran.set()

    helper = asyncio.create_task(beside())
    await harness.drain()
    await helper
    assert harness.dead_letters.records == []


async def test_lag_returns_to_zero_once_caught_up() -> None:
    harness = Harness([good(0, 0)])
    await harness.loop.run(until_idle=0.05)
    assert harness.value("cwlpipe_lag_seconds") == 0
    assert harness.value("cwlpipe_consumer_lag_records", topic=TOPIC, partition="0") == 0


async def test_every_record_counts_once_in_the_books() -> None:
    records = [good(0, 0), record(0, 1, b"junk"), surrogate_record(0, 2), good(1, 0)]
    harness = Harness(records)
    await harness.drain()
    records_in = harness.value("cwlpipe_records_in_total")
    dead = sum(harness.value("cwlpipe_dead_letters_total", stage=s) for s in ("decode", "process"))
    assert records_in == 4 and dead == 2


@pytest.mark.parametrize("size", [2_000_000, 15 * 1024 * 1024])
async def test_an_oversized_dead_letter_keeps_the_head_of_its_original(size: int) -> None:
    harness = Harness([record(0, 0, b"x" * size)])
    harness.dead_letters.max_bytes = 1_000_000
    await harness.drain()
    (dead,) = harness.dead_letters.records
    assert dead.original_truncated and dead.original_size == size
    assert 0 < len(dead.original) < 1_000_000
    assert dead.original == b"x" * len(dead.original)


async def test_records_behind_a_failing_dead_letter_are_neither_skipped_nor_lost() -> None:
    """Backing off for the dead-letter topic polls the source: it must not take records then."""
    records = [record(0, 0, b"not a payload"), good(0, 1), good(0, 2)]
    harness = Harness(records, max_records=1)
    harness.dead_letters.fail = 3
    await harness.drain()
    assert set(harness.sink.stored) == expected_ids(records[1:])
    assert harness.source.committed == {P0: 3}
    assert not harness.source.paused
