"""The X-Ray listener's books and bounds, without sockets: every datagram received is published,
dropped for a named reason, or in hand, and what it holds never passes its byte bound."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError
from prometheus_client import generate_latest

from consumers.runtime.retry import RetryPolicy
from consumers.xray.accounting import (
    BAD_HEADER,
    QUEUE_FULL,
    REFUSED,
    TOO_LARGE,
    UNSENT,
    Books,
    DropLog,
)
from consumers.xray.listener import ListenerSettings, XRayListener
from consumers.xray.queue import ByteQueue
from pipeline.traces import MAX_DATAGRAM_BYTES

SEGMENT = b'{"trace_id":"1-5759e988-bd862e3fe1be46a994272793","id":"70de5b6f19ff9a0a","name":"svc","start_time":1.0,"end_time":2.0}'
SPACED = b'{"format": "json", "version": 1}\n' + SEGMENT
COMPACT = b'{"format":"json","version":1}\n' + SEGMENT


def in_hand(listener: XRayListener) -> int:
    return len(listener.queue) + listener.publisher.in_flight


def balanced(listener: XRayListener) -> bool:
    books = listener.books
    return books.received == books.published + books.dropped_total + in_hand(listener)


@dataclass
class FakeBroker:
    """What every producer the listener makes talks to: scripted refusals, and what landed."""

    down_for_starts: int = 0
    #: per send, in order: None (acknowledged) or the error its ack fails with
    outcomes: list[BaseException | None] = field(default_factory=list)
    #: sends that never get an answer (an ack that hangs until cancelled)
    hang: bool = False
    landed: list[bytes] = field(default_factory=list)
    keys: list[bytes | None] = field(default_factory=list)
    starts: int = 0

    def producer(self) -> FakeProducer:
        return FakeProducer(self)


class FakeProducer:
    def __init__(self, broker: FakeBroker) -> None:
        self.broker = broker

    async def start(self) -> None:
        self.broker.starts += 1
        if self.broker.down_for_starts:
            self.broker.down_for_starts -= 1
            raise KafkaConnectionError("no broker answered")

    async def stop(self) -> None:
        return None

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None = None
    ) -> asyncio.Future[Any]:
        self.broker.keys.append(key)
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.broker.hang:
            return ack
        outcome = self.broker.outcomes.pop(0) if self.broker.outcomes else None
        if outcome is None:
            self.broker.landed.append(value)
            ack.set_result((topic, len(self.broker.landed) - 1))
        else:
            ack.set_exception(outcome)
        return ack


def listener_for(broker: FakeBroker, **settings: Any) -> XRayListener:
    options: dict[str, Any] = {
        "policy": RetryPolicy(0.001, 0.002),
        "shutdown_deadline_s": 5.0,
        **settings,
    }
    return XRayListener(ListenerSettings("127.0.0.1", 0, "traces", **options), broker.producer)


async def run_until_published(listener: XRayListener, count: int) -> asyncio.Task[None]:
    task = asyncio.create_task(listener.run())
    while listener.books.published < count:  # the fake acknowledges at once: a few loop turns
        assert not task.done(), task
        await asyncio.sleep(0)
    return task


# -- receiving -------------------------------------------------------------------------------


@pytest.mark.parametrize("datagram", [SPACED, COMPACT], ids=["header-with-spaces", "compact"])
def test_a_daemon_datagram_is_queued_as_received(datagram: bytes) -> None:
    listener = listener_for(FakeBroker())
    listener.accept(datagram)
    assert listener.queue.take(10, 1 << 20) == [datagram]
    assert listener.books.received == 1
    assert not listener.books.dropped


def test_an_oversized_datagram_is_dropped_as_too_large() -> None:
    listener = listener_for(FakeBroker())
    listener.accept(b'{"format":"json","version":1}\n' + b" " * MAX_DATAGRAM_BYTES)
    assert listener.books.dropped == {TOO_LARGE: 1}
    assert len(listener.queue) == 0
    assert balanced(listener)


@pytest.mark.parametrize(
    "datagram",
    [
        SEGMENT,  # no header line at all
        b'{"format":"text","version":1}\n' + SEGMENT,
        b'{"format":"json","version":2}\n' + SEGMENT,
        b"not json\n" + SEGMENT,
        b'{"format":"json","version":1}\n',
    ],
)
def test_a_bad_header_is_dropped_and_its_reason_logged_in_one_line(
    datagram: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    listener = listener_for(FakeBroker())
    with caplog.at_level(logging.WARNING, "cwlpipe"):
        listener.accept(datagram, "127.0.0.1:5555")
    assert listener.books.dropped == {BAD_HEADER: 1}
    assert len(listener.queue) == 0
    (record,) = caplog.records
    message = record.getMessage()
    assert message.startswith(
        "dropped a datagram (bad header): from 127.0.0.1:5555: daemon datagram"
    )
    assert "\n" not in message and record.exc_info is None


def test_when_the_queue_is_full_the_newest_is_dropped_and_the_bound_holds() -> None:
    size = len(SPACED)
    listener = listener_for(FakeBroker(), max_queue_bytes=size * 3 + size // 2)
    datagrams = [SPACED.replace(b"svc", f"s{i:02d}".encode()) for i in range(5)]
    for datagram in datagrams:
        listener.accept(datagram)
    assert listener.books.dropped == {QUEUE_FULL: 2}
    assert listener.queue.charged <= listener.queue.max_bytes
    assert balanced(listener)
    assert listener.queue.take(10, 1 << 20) == datagrams[:3]  # the oldest kept, in order


def test_bytes_taken_for_sending_stay_charged_until_released() -> None:
    queue = ByteQueue(100)
    assert queue.put(b"a" * 60)
    taken = queue.take(10, 1000)
    assert not queue.put(b"b" * 60)  # the 60 in flight still count against the bound
    queue.give_back(taken)
    assert queue.take(10, 1000) == taken
    queue.release(60)
    assert queue.put(b"b" * 60)


def test_take_stops_at_the_byte_budget_but_always_takes_one() -> None:
    queue = ByteQueue(1000)
    for size in (300, 300, 300):
        queue.put(b"x" * size)
    assert [len(b) for b in queue.take(10, 500)] == [300]
    assert [len(b) for b in queue.take(1, 100)] == [300]  # larger than the budget: still one
    assert len(queue) == 1


def test_given_back_datagrams_go_before_newer_ones_in_order() -> None:
    queue = ByteQueue(1000)
    for item in (b"1", b"2", b"3"):
        queue.put(item)
    taken = queue.take(2, 1000)
    queue.put(b"4")
    queue.give_back(taken)
    assert queue.take(10, 1000) == [b"1", b"2", b"3", b"4"]


# -- the drop log ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_drops_are_logged_once_per_reason_per_window_with_the_count_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    drops = DropLog(logging.getLogger("cwlpipe"), window_s=10, clock=clock)
    with caplog.at_level(logging.WARNING, "cwlpipe"):
        assert drops.dropped(BAD_HEADER, "first")
        assert not drops.dropped(BAD_HEADER, "second")
        assert not drops.dropped(BAD_HEADER, "third")
        assert drops.dropped(TOO_LARGE, "another reason is not held back")
        clock.now += 10
        assert drops.dropped(BAD_HEADER, "fourth")
        assert drops.dropped(UNSENT, "at the deadline", 3)
    assert [r.getMessage() for r in caplog.records] == [
        "dropped a datagram (bad header): first",
        "dropped a datagram (too large): another reason is not held back",
        "dropped a datagram (bad header): fourth (and 2 more in the last 10 s)",
        "dropped 3 datagrams (unsent at shutdown): at the deadline",
    ]


# -- publishing ------------------------------------------------------------------------------


async def test_queued_datagrams_are_published_as_received_and_the_books_balance() -> None:
    broker = FakeBroker()
    listener = listener_for(broker)
    listener.accept(SPACED)
    listener.accept(b"bad")
    listener.accept(COMPACT)
    task = await run_until_published(listener, 2)
    listener.request_stop()
    await task
    assert broker.landed == [SPACED, COMPACT]
    # keyed by trace id: a trace's segments stay on one partition, in order
    assert broker.keys == [b"1-5759e988-bd862e3fe1be46a994272793"] * 2
    assert listener.books.published == 2
    assert listener.books.dropped == {BAD_HEADER: 1}
    assert balanced(listener)
    assert listener.queue.charged == 0


async def test_a_broker_down_at_start_is_waited_for_while_datagrams_queue() -> None:
    broker = FakeBroker(down_for_starts=3)
    listener = listener_for(broker)
    listener.accept(SPACED)
    task = await run_until_published(listener, 1)
    assert broker.starts == 4  # a new producer for each attempt: a failed one cannot restart
    listener.request_stop()
    await task
    assert broker.landed == [SPACED]


async def test_a_retriable_send_failure_is_sent_again_in_order() -> None:
    broker = FakeBroker(outcomes=[None, KafkaConnectionError("leader moved"), None])
    listener = listener_for(broker, batch_records=3)
    datagrams = [SPACED.replace(b"svc", f"s{i}".encode()) for i in range(3)]
    for datagram in datagrams:
        listener.accept(datagram)
    task = await run_until_published(listener, 3)
    listener.request_stop()
    await task
    assert broker.landed == [datagrams[0], datagrams[2], datagrams[1]]
    assert listener.books.published == 3 and not listener.books.dropped


async def test_a_send_refused_for_good_is_dropped_not_retried() -> None:
    broker = FakeBroker(outcomes=[MessageSizeTooLargeError("too big for the topic")])
    listener = listener_for(broker)
    listener.accept(SPACED)
    listener.accept(COMPACT)
    task = await run_until_published(listener, 1)
    listener.request_stop()
    await task
    assert broker.landed == [COMPACT]
    assert listener.books.dropped == {REFUSED: 1}
    assert balanced(listener)


async def test_what_kafka_has_not_acknowledged_by_the_deadline_is_counted_unsent() -> None:
    broker = FakeBroker(hang=True)
    listener = listener_for(broker, shutdown_deadline_s=0.2)
    for _ in range(3):
        listener.accept(SPACED)
    task = asyncio.create_task(listener.run())
    while listener.publisher.in_flight == 0:
        await asyncio.sleep(0)
    listener.accept(COMPACT)
    listener.request_stop()
    await asyncio.wait_for(task, 5)
    assert listener.books.dropped == {UNSENT: 4}
    assert listener.books.published == 0
    assert balanced(listener) and listener.queue.charged == 0


async def test_a_stop_while_kafka_was_never_reached_ends_at_once_counting_the_queue() -> None:
    broker = FakeBroker(down_for_starts=10**6)
    listener = listener_for(broker, policy=RetryPolicy(60, 60), shutdown_deadline_s=30)
    listener.accept(SPACED)
    task = asyncio.create_task(listener.run())
    while broker.starts == 0:
        await asyncio.sleep(0)
    listener.request_stop()
    await asyncio.wait_for(task, 2)  # not the 60 s backoff, not the 30 s deadline
    assert listener.books.dropped == {UNSENT: 1}
    assert balanced(listener)


async def test_a_datagram_after_the_stop_is_counted_unsent_not_queue_full() -> None:
    listener = listener_for(FakeBroker())
    listener.request_stop()
    await listener.run()
    listener.accept(SPACED)  # the socket is closed by now; if one slipped through, say so
    assert listener.books.dropped == {UNSENT: 1}


# -- metrics ---------------------------------------------------------------------------------


def test_the_books_are_the_exported_metrics() -> None:
    listener = listener_for(FakeBroker())
    listener.accept(SPACED)
    listener.accept(b"bad")
    text = generate_latest(listener.registry).decode()
    assert "cwlpipe_xray_datagrams_received_total 2.0" in text
    assert 'cwlpipe_xray_datagrams_dropped_total{reason="bad header"} 1.0' in text
    assert 'cwlpipe_xray_datagrams_dropped_total{reason="queue full"} 0.0' in text
    assert f"cwlpipe_xray_queue_bytes {float(len(SPACED))}" in text
    assert "cwlpipe_xray_datagrams_published_total 0.0" in text


def test_the_summary_names_each_reason() -> None:
    books = Books(received=5, published=2)
    books.dropped.update({BAD_HEADER: 2, QUEUE_FULL: 1})
    assert books.summary() == (
        "5 datagrams received, 2 published, 3 dropped (2 bad header, 1 queue full)"
    )
