"""``--start``/``--end`` of a query: ISO 8601 (``2024-03-05T10:00:00Z``) or relative to now
(``-1h``, ``-30m``, ``-2d``, ``now``), as epoch milliseconds."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["parse_time"]

_RELATIVE = re.compile(r"-\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\Z")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}


def parse_time(text: str, now_ms: int) -> int:
    """Epoch milliseconds; ``ValueError`` saying what is accepted. A time without a zone is
    UTC, as CloudWatch's console reads it."""
    stripped = text.strip()
    if stripped.lower() == "now":
        return now_ms
    relative = _RELATIVE.match(stripped)
    if relative is not None:
        return now_ms - round(float(relative.group(1)) * _UNIT_MS[relative.group(2)])
    if stripped.isdigit():  # epoch seconds, as StartQuery takes them, or milliseconds
        number = int(stripped)
        return number * 1000 if number < 100_000_000_000 else number
    try:
        moment = datetime.fromisoformat(stripped.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 (2024-03-05T10:00:00Z) or -1h, -30m, -2d, now"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)
