"""From the queue to Kafka: a batch at a time, every datagram's fate written in the books.

Each batch is sent without awaiting each acknowledgement (one round trip per
batch rather than per datagram), then awaited whole. A retriable failure
(the broker away, a leader moving) puts the unacknowledged datagrams back at
the head of the queue and backs off; a refusal for good (a record the broker
will never take) is counted as dropped, since retrying cannot help and
nobody is there to hear about it. Kafka down at start-up is waited for, as
``cwlpipe run`` does, while the listener keeps queueing within its bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from consumers.kafka.source import started
from consumers.runtime.errors import describe, is_retriable
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import until_up
from consumers.xray.accounting import REFUSED, UNSENT, Books
from consumers.xray.queue import ByteQueue
from pipeline.traces import trace_key

__all__ = ["BatchPublisher", "Producer"]

log = logging.getLogger("cwlpipe")


class Producer(Protocol):
    """What the publisher needs of aiokafka's producer (``send`` returns the ack's future)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def send(
        self, topic: str, value: bytes, *, key: bytes | None = None
    ) -> Awaitable[Any]: ...


class BatchPublisher:
    def __init__(
        self,
        queue: ByteQueue,
        books: Books,
        drop: Callable[[str, str, int], None],
        make_producer: Callable[[], Producer],
        *,
        topic: str,
        brokers: str,
        stop: StopSignal,
        policy: RetryPolicy,
        batch_records: int,
        batch_bytes: int,
    ) -> None:
        self.queue = queue
        self.books = books
        self.topic = topic
        self.brokers = brokers
        self.stop_signal = stop
        self.policy = policy
        self.batch_records = batch_records
        self.batch_bytes = batch_bytes
        self.producer: Producer | None = None
        self._drop = drop
        self._make_producer = make_producer
        self._inflight: list[tuple[bytes, Awaitable[Any] | None]] = []

    @property
    def in_flight(self) -> int:
        return len(self._inflight)

    async def run(self) -> None:
        """Wait for Kafka, then publish until the queue is closed and empty (or the deadline)."""
        producer = await until_up(
            f"Kafka ({self.brokers})", self._start, policy=self.policy, stop=self.stop_signal
        )
        if producer is None:
            return  # stopped before Kafka ever answered
        log.info("Kafka (%s) answered: publishing to %s", self.brokers, self.topic)
        failures = 0
        while True:
            await self.queue.wait()
            batch = self.queue.take(self.batch_records, self.batch_bytes)
            if not batch:
                return  # closed and empty: everything is flushed
            error = await self.send(producer, batch)
            if error is None:
                failures = 0
                continue
            delay = self.policy.delay(failures)
            failures += 1
            log.warning(
                "Kafka (%s): %s; %d datagrams wait (%d bytes), retrying in %.1f s",
                self.brokers,
                describe(error),
                len(self.queue),
                self.queue.charged,
                delay,
            )
            if not await self.stop_signal.sleep(delay):
                return  # the deadline has come; the rest is counted as unsent

    async def _start(self) -> Producer:
        # a failed start is not restartable: a new one each time
        self.producer = await started(self._make_producer())
        return self.producer

    async def send(self, producer: Producer, batch: list[bytes]) -> BaseException | None:
        """Send ``batch`` (taken from the queue) without awaiting each ack, then await them all;
        the retriable error when some must be sent again (they are back at the queue's head).
        Keyed by trace id, so a trace's segments stay on one partition, in order."""
        self._inflight = [(value, None) for value in batch]
        failed_at, failed = len(batch), None
        for index, value in enumerate(batch):
            try:
                ack = await producer.send(self.topic, value, key=trace_key(value))
                self._inflight[index] = (value, ack)
            except Exception as error:  # the rest are not tried: the next would fail the same way
                failed_at, failed = index, error
                break
        acks = [ack for _, ack in self._inflight[:failed_at] if ack is not None]
        outcomes: list[Any] = [*await asyncio.gather(*acks, return_exceptions=True), failed]
        again: list[bytes] = []
        retriable: BaseException | None = None
        for (value, _), outcome in zip(self._inflight, outcomes, strict=False):
            if not isinstance(outcome, BaseException):
                self.books.published += 1
                self.queue.release(len(value))
            elif is_retriable(outcome):
                again.append(value)
                retriable = retriable or outcome
            else:
                self.queue.release(len(value))
                self._drop(REFUSED, f"{len(value)} bytes: {describe(outcome)}", 1)
        again += [value for value, _ in self._inflight[failed_at + 1 :]]  # not tried yet
        self._inflight = []
        self.queue.give_back(again)
        return retriable

    def settle_unsent(self) -> None:
        """Once publishing has ended: what Kafka acknowledged of the batch in flight is
        published, the rest of it and everything still queued is counted unsent."""
        unsent = 0
        for value, ack in self._inflight:
            self.queue.release(len(value))
            acknowledged = (
                isinstance(ack, asyncio.Future)
                and ack.done()
                and not ack.cancelled()
                and ack.exception() is None
            )
            if acknowledged:
                self.books.published += 1
            else:
                unsent += 1
        self._inflight = []
        unsent += len(self.queue.drain())
        if unsent:
            self._drop(UNSENT, "not acknowledged by Kafka by the shutdown deadline", unsent)

    async def close(self, budget_s: float) -> None:
        """Stop the producer within ``budget_s`` (it flushes; a broker that is away would hold
        it for its request timeout)."""
        if self.producer is None:
            return
        producer, self.producer = self.producer, None
        try:
            await asyncio.wait_for(producer.stop(), budget_s)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we are being cancelled ourselves
            log.debug("closing the Kafka producer: cancelled inside the client")
        except Exception as error:
            log.warning("closing the Kafka producer: %s", describe(error))
