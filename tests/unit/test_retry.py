"""The one retry policy and the stop signal every wait of the shell goes through."""

from __future__ import annotations

import asyncio
import time

from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from consumers.runtime.errors import describe, is_retriable
from consumers.runtime.retry import RetryPolicy, StopSignal


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_the_cap() -> None:
    policy = RetryPolicy(0.5, 30.0)
    assert [policy.ceiling(a) for a in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    values = [policy.delay(a) for a in range(100) for _ in range(20)]
    assert all(0 <= v <= 30.0 for v in values)
    assert len(set(values)) > 100  # jittered, never in lockstep


async def test_a_sleep_without_a_stop_lasts_its_time() -> None:
    assert await StopSignal().sleep(0.01) is True


async def test_a_stop_request_shortens_a_long_sleep_to_the_deadline() -> None:
    stop = StopSignal()
    sleeping = asyncio.create_task(stop.sleep(3600))
    await asyncio.sleep(0)
    started = time.monotonic()
    stop.request(0.02)
    assert await asyncio.wait_for(sleeping, 5) is False
    assert time.monotonic() - started < 5


async def test_before_the_deadline_a_short_sleep_still_says_go_on() -> None:
    stop = StopSignal()
    stop.request(60)
    assert await stop.sleep(0.001) is True
    assert 0 < stop.remaining() <= 60


def test_errors_are_classified_once() -> None:
    assert is_retriable(KafkaConnectionError("down"))
    assert is_retriable(KafkaTimeoutError())
    assert not is_retriable(MessageSizeTooLargeError())
    assert is_retriable(StoreConnectionError("N/A", "refused", None))
    assert is_retriable(TransportError(503, "unavailable", {}))
    assert is_retriable(TransportError(429, "too_many_requests", {}))
    assert not is_retriable(TransportError(403, "forbidden", {}))
    assert is_retriable(ConnectionRefusedError())
    assert not is_retriable(ValueError("a bug"))


def test_descriptions_are_one_line() -> None:
    assert describe(TransportError(503, "unavailable", {})) == "HTTP 503: unavailable"
    assert "\n" not in describe(ValueError("first line\nsecond line"))
