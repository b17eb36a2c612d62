"""argparse types for numbers: a bad value is argparse's one-line usage error and exit 2.

``--workers 0`` would start no worker and exit 0 having done nothing; a
negative ``--every`` would spin. Refusing them at parse time says so before
anything starts.
"""

from __future__ import annotations

import argparse
import math

__all__ = ["count", "index", "seconds", "timeout"]


def count(text: str) -> int:
    """An integer >= 1 (processes, partitions)."""
    return _integer(text, 1)


def index(text: str) -> int:
    """An integer >= 0."""
    return _integer(text, 0)


def seconds(text: str) -> float:
    """A finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def timeout(text: str) -> float:
    """A finite number of seconds > 0: a zero timeout would fail every check."""
    value = seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be a number of seconds > 0, got {text!r}")
    return value


def _integer(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {text!r}")
    return value
