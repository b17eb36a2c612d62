"""X-Ray segment documents -> span documents (in progress)."""

from __future__ import annotations

from typing import Any

__all__ = ["spans_from_segment"]


def spans_from_segment(document: str | bytes | dict[str, Any]) -> list[dict[str, Any]]:
    raise NotImplementedError
