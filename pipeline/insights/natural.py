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
    from pipeline.insights.functions import to_text

    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, int | float):
        return (1, float(value), ())
    text = to_text(value) or ""
    if text.isdigit() and text.isascii():
        return (1, float(int(text)), (len(text), text))
    chunks = []
    for run in _RUNS.findall(text):
        if run[0].isdigit():
            chunks.append((1, len(run), run, ""))
        else:
            chunks.append((0, 0, "", run))
    return (0, 0.0, tuple(chunks))
