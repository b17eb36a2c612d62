"""JSON selectors: ``$.a.b``, ``$.a[0]``, ``$.['key.with.dots']``, ``$.a[*]``, ``$.a.*``.

A selector always starts at ``$.``; it never traverses arrays implicitly, and
both wildcard spellings iterate arrays and objects alike (as AWS does). Metric
filters use the same selectors for ``metricValue`` and dimensions.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Final

from pipeline.errors import PatternError

__all__ = ["MISSING", "Selector", "parse_selector"]

MISSING: Final[Any] = type("Missing", (), {"__repr__": lambda self: "MISSING"})()
TOO_MANY_WILDCARDS = (
    "Your filter pattern has a JSON path selector that exceeds the maximum of 1 wildcard "
    "allowed per json selector."
)
_NAME_ASCII = frozenset(string.ascii_letters + string.digits + "_-")


@dataclass(frozen=True, slots=True)
class Selector:
    text: str
    prefix: tuple[str | int, ...]  # the steps before the wildcard (all of them when none)
    suffix: tuple[str | int, ...]  # the steps after the wildcard
    has_wildcard: bool

    def resolve(self, document: Any) -> Any:
        """The selected value, or MISSING; for a selector without a wildcard."""
        return _walk(document, self.prefix)

    def candidates(self, document: Any) -> tuple[bool, list[Any]]:
        """(whether the path before the wildcard exists, the values the selector yields)."""
        if not self.has_wildcard:
            value = _walk(document, self.prefix)
            return value is not MISSING, [] if value is MISSING else [value]
        container = _walk(document, self.prefix)
        if container is MISSING:
            return False, []
        if type(container) is dict:
            items: Any = container.values()
        elif type(container) is list:
            items = container
        else:
            return True, []
        found = [_walk(item, self.suffix) for item in items]
        return True, [value for value in found if value is not MISSING]


def _walk(value: Any, steps: tuple[str | int, ...]) -> Any:
    for step in steps:
        if isinstance(step, str):
            if type(value) is not dict:
                return MISSING
            value = value.get(step, MISSING)
            if value is MISSING:
                return MISSING
        elif type(value) is not list or step >= len(value):
            return MISSING
        else:
            value = value[step]
    return value


def parse_selector(text: str, position: int, pattern: str) -> Selector:
    """Parse selector ``text`` found at ``position`` of ``pattern``."""

    def fail(offset: int, reason: str | None = None) -> PatternError:
        return PatternError(reason or f"Invalid JSON selector '{text}'", position + offset, pattern)

    if not text.startswith("$."):
        raise fail(0)
    steps: list[str | int] = []
    wildcard_index: int | None = None
    index = 1
    while index < len(text):
        char = text[index]
        if char == ".":
            index += 1
            if text.startswith("*", index):
                step: str | int | None = None
                index += 1
            elif text.startswith("['", index):
                close = text.find("']", index + 2)
                if close == -1 or close == index + 2:
                    raise fail(index)
                step = text[index + 2 : close]
                index = close + 2
            else:
                first = index
                while index < len(text) and _is_name_char(text[index]):
                    index += 1
                if index == first:
                    raise fail(index)
                step = text[first:index]
        elif char == "[" and (steps or wildcard_index is not None):
            close = text.find("]", index)
            inside = text[index + 1 : close] if close != -1 else ""
            if inside == "*":
                step = None
            elif inside.isdigit() and inside.isascii():
                step = int(inside)
            else:
                raise fail(index)
            index = close + 1
        else:
            raise fail(index)
        if step is None:
            if wildcard_index is not None:
                raise fail(index - 1, TOO_MANY_WILDCARDS)
            wildcard_index = len(steps)
        else:
            steps.append(step)
    if wildcard_index is None:
        return Selector(text, tuple(steps), (), False)
    return Selector(text, tuple(steps[:wildcard_index]), tuple(steps[wildcard_index:]), True)


def _is_name_char(char: str) -> bool:
    return char in _NAME_ASCII or (ord(char) > 127 and char.isalnum())
