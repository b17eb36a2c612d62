"""Errors of the shell, and the one place that decides which failures are worth retrying.

Kafka and OpenSearch each have their own exception trees; the loops never
look at them. :func:`is_retriable` classifies once (aiokafka's ``retriable``
flag, HTTP status, connection-level failures), and :func:`describe` gives the
one line an operator reads, so expected failures never print a traceback.
"""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from pipeline.errors import PipelineError

__all__ = ["DeliveryError", "ShellError", "describe", "is_retriable"]


class ShellError(PipelineError):
    """Base of the errors the shell raises on purpose."""


class DeliveryError(ShellError):
    """A write to Kafka failed; ``retriable`` says whether the same write may succeed later."""

    def __init__(self, reason: str, *, retriable: bool) -> None:
        super().__init__(reason)
        self.retriable = retriable


def is_retriable(error: BaseException) -> bool:
    """True when trying the same request again later can succeed."""
    if isinstance(error, PipelineError):
        return error.retriable
    if isinstance(error, KafkaTimeoutError | KafkaConnectionError):
        return True  # the broker is away or slow; it comes back
    if isinstance(error, KafkaError):
        return bool(error.retriable)
    if isinstance(error, StoreConnectionError):
        return True  # refused, reset, timed out
    if isinstance(error, TransportError):
        status = error.status_code
        return not isinstance(status, int) or status == 429 or status >= 500
    return isinstance(error, OSError | asyncio.TimeoutError)


def _connection_failure(error: StoreConnectionError) -> str:
    """``cannot connect to host:port: Connection refused`` rather than aiohttp's repr."""
    cause = error.info if isinstance(error.info, BaseException) else None
    host, port = getattr(cause, "host", None), getattr(cause, "port", None)
    os_error = getattr(cause, "os_error", None)
    if host and port and isinstance(os_error, OSError):
        return f"cannot connect to {host}:{port}: {os_error.strerror or os_error}"
    if isinstance(cause, asyncio.TimeoutError) or "Timeout" in type(error).__name__:
        return "timed out"
    return f"connection failed: {cause or error.error}"


def describe(error: BaseException) -> str:
    """One line for the log: the type and the message, never a traceback."""
    if isinstance(error, TransportError) and isinstance(error.status_code, int):
        return f"HTTP {error.status_code}: {error.error}"
    if isinstance(error, StoreConnectionError):
        return _connection_failure(error)
    if isinstance(error, KafkaConnectionError) and "bootstrap" in str(error):
        return "no broker answered"  # aiokafka lists resolved address tuples here
    name = type(error).__name__
    lines = str(error).strip().splitlines()
    if not lines:
        return name
    text = lines[0].removeprefix(f"{name}: ")
    return text if text.startswith(name) else f"{name}: {text}"
