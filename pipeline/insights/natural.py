"""Insights' "updated natural sort": how ``sort`` (and sortsFirst/sortsLast) orders values.

Ascending, every value that is not a number (digits only) sorts before every
number; numbers by value; other values are cut into runs of digits and runs
of everything else, non-digit runs compare by Unicode code point and digit
runs by length first, then by value. The documentation's example order is a
unit test.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["natural_key"]

_RUNS = re.compile(r"\d+|\D+")


def natural_key(value: Any) -> tuple[Any, ...]:
    """Ascending order: (0, chunks) for text, (1, value, text) for numbers. A digit run
    compares against other runs as its first character ("0" to "9") would, then by length,
    then by value; equal numbers by their text ("01" before "1")."""
    from pipeline.insights.functions import to_text

    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return (1, float(value), to_text(value) or "")
    text = to_text(value) or ""
    if text.isdigit() and text.isascii():
        return (1, float(int(text)), text)
    chunks: list[tuple[Any, ...]] = []
    for run in _RUNS.findall(text):
        if run[0].isdigit() and run.isascii():
            chunks.append(("0", len(run), int(run)))
        else:
            chunks.append((run,))
    return (0, tuple(chunks))
