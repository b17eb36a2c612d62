"""Reaching a neighbour at start-up: wait it out, one line per attempt, never a traceback.

The daemon waits for Kafka and OpenSearch as long as it takes (until a stop
is requested); one-shot commands (``process``, ``produce-samples``) wait a
bounded number of attempts. Either way a refusal that will not change (bad
credentials, a forbidden request) stops at once with :class:`StartupError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from consumers.runtime.errors import ShellError, describe, is_retriable
from consumers.runtime.retry import RetryPolicy, StopSignal

__all__ = ["StartupError", "until_up"]

T = TypeVar("T")
log = logging.getLogger("cwlpipe")


class StartupError(ShellError):
    """Something an operator must fix before the command can go on; the message says what."""


async def until_up(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    stop: StopSignal,
    attempts: int | None = None,
) -> T | None:
    """``attempt()``'s result once it succeeds; None when a stop came first.

    Raises :class:`StartupError` when the failure is not worth retrying, or
    after ``attempts`` failed attempts (None: no limit).
    """
    failures = 0
    while not stop.requested:
        try:
            return await attempt()
        except Exception as error:
            if not is_retriable(error):
                raise StartupError(f"{what} refused: {describe(error)}") from error
            failures += 1
            if attempts is not None and failures >= attempts:
                raise StartupError(
                    f"{what} not reachable after {failures} attempts: {describe(error)}"
                ) from error
            delay = policy.delay(failures - 1)
            log.warning("%s not reachable (%s); retrying in %.1f s", what, describe(error), delay)
            await stop.wait(delay)
    return None
