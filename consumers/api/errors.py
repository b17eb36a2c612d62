"""AWS's errors as the JSON 1.1 protocol carries them: ``{"__type": ..., "message": ...}``.

An operation raises :class:`ApiError`; the protocol layer turns it into the
status and body botocore parses into ``ClientError`` (``Error.Code`` is the
``__type``). Anything else an operation raises is a bug or an unreachable
store, answered as AWS answers those (``ServiceUnavailableException``), never
with a traceback.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ApiError",
    "invalid_parameter",
    "limit_exceeded",
    "malformed_query",
    "resource_not_found",
    "service_unavailable",
    "unknown_operation",
]


class ApiError(Exception):
    """An answer other than success: AWS's error type, its message and HTTP status.

    ``extra`` holds the modelled members some errors carry (MalformedQueryException's
    ``queryCompileError``), which botocore puts into the parsed response.
    """

    def __init__(
        self, type_: str, message: str, status: int = 400, extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{type_}: {message}")
        self.type = type_
        self.message = message
        self.status = status
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"__type": self.type, "message": self.message, **self.extra}


def invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def resource_not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)


def limit_exceeded(message: str) -> ApiError:
    return ApiError("LimitExceededException", message)


def unknown_operation(target: str | None) -> ApiError:
    shown = target or "(none)"
    return ApiError("UnknownOperationException", f"Unknown operation {shown}")


def service_unavailable(message: str) -> ApiError:
    """The store could not answer: 500, as AWS answers it, so SDKs retry with backoff."""
    return ApiError("ServiceUnavailableException", message, status=500)


def malformed_query(reason: str, position: int, length: int = 1) -> ApiError:
    """An invalid Insights query, with where it is as AWS's ``queryCompileError`` says it."""
    return ApiError(
        "MalformedQueryException",
        reason,
        extra={
            "queryCompileError": {
                "location": {"startCharOffset": position, "endCharOffset": position + length},
                "message": reason,
            }
        },
    )
