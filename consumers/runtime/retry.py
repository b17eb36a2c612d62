"""One retry policy and one stop signal for every loop of the shell.

Every wait in the daemon (a store that refuses, a broker that is down, a
dead-letter write that failed) goes through :class:`RetryPolicy` for how long
and through :class:`StopSignal` for whether to wait at all: once a stop is
requested, no wait outlasts the shutdown deadline, so SIGTERM ends the
process in time whatever its neighbours are doing.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from dataclasses import dataclass

__all__ = ["RetryPolicy", "StopSignal"]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped (AWS's "full jitter" recipe)."""

    initial_s: float = 0.5
    max_s: float = 30.0

    def ceiling(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * 2.0 ** min(attempt, 62))

    def delay(self, attempt: int) -> float:
        """Uniform in [0, min(max, initial * 2**attempt)]: callers never retry in lockstep."""
        return random.uniform(0.0, self.ceiling(attempt))


class StopSignal:
    """A requested stop and its deadline, shared by the loop and every retry inside it."""

    def __init__(self) -> None:
        self._requested = asyncio.Event()
        self._deadline = math.inf

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def request(self, grace_s: float) -> None:
        """Stop fetching; whatever is in hand may take ``grace_s`` more seconds, no more."""
        if not self._requested.is_set():
            self._deadline = time.monotonic() + grace_s
            self._requested.set()

    def hurry(self) -> None:
        """A second stop request: the deadline is now (waits already running end within 1 s)."""
        self._deadline = min(self._deadline, time.monotonic())
        self._requested.set()

    def remaining(self) -> float:
        """Seconds left before the deadline (infinite while no stop is requested)."""
        return max(0.0, self._deadline - time.monotonic())

    def past_deadline(self) -> bool:
        return time.monotonic() >= self._deadline

    async def wait(self, timeout_s: float) -> bool:
        """Wait for a stop request at most ``timeout_s``; True when one was requested."""
        if self._requested.is_set():
            return True
        try:
            await asyncio.wait_for(self._requested.wait(), timeout_s)
        except TimeoutError:
            return False
        return True

    async def sleep(self, seconds: float) -> bool:
        """Back off for ``seconds``, cut short at the deadline; False when the deadline has come.

        A stop requested during the sleep shortens it to the deadline, so a
        30 s backoff never holds up a 10 s shutdown.
        """
        until = time.monotonic() + seconds
        if not self._requested.is_set():
            await self.wait(seconds)
        wake = min(until, self._deadline)
        delay = wake - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        return not self.past_deadline()
