"""A log message as patterns see it, parsed at most once however many patterns look.

JSON patterns need the message as a JSON object, space-delimited patterns need
its fields; both are computed on first use and cached on the view, so a route
with ten metric filters parses a message once, not ten times.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["ParsedMessage", "split_fields"]

_UNSET: Any = object()


class ParsedMessage:
    """One message plus its lazily parsed JSON object and space-delimited fields."""

    __slots__ = ("_fields", "_json", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._json: Any = _UNSET
        self._fields: tuple[list[str], list[int]] | None = None

    @property
    def json_object(self) -> dict[str, Any] | None:
        """The message as a JSON object, or None when it is not exactly one JSON object."""
        if self._json is _UNSET:
            self._json = _parse_json_object(self.text)
        result: dict[str, Any] | None = self._json
        return result

    @property
    def fields(self) -> tuple[list[str], list[int]]:
        """Space-delimited field values and the offset where each field starts."""
        if self._fields is None:
            self._fields = split_fields(self.text)
        return self._fields


def _parse_json_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip(" \t\r\n").startswith("{"):
        return None  # the common case for plain log lines: no parser call at all
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = _parse_json_leniently(text)
    return value if isinstance(value, dict) else None


def _parse_json_leniently(text: str) -> Any:
    """Second chance for what orjson refuses but CloudWatch reads: numbers overflowing a double."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def split_fields(text: str) -> tuple[list[str], list[int]]:
    """Split a message into CloudWatch's space-delimited fields.

    Blanks are spaces and tabs. A field that starts with ``"`` runs to the next
    ``"`` and one that starts with ``[`` to the next ``]``, delimiters excluded;
    when the closing character never comes the opening one is ordinary. Every
    other field runs to the next blank.
    """
    values: list[str] = []
    starts: list[int] = []
    length = len(text)
    next_space = next_tab = -1
    index = 0
    while index < length:
        char = text[index]
        if char == " " or char == "\t":
            index += 1
            continue
        if char == '"' or char == "[":
            close = text.find('"' if char == '"' else "]", index + 1)
            if close != -1:
                values.append(text[index + 1 : close])
                starts.append(index)
                index = close + 1
                continue
        # Remember where the next blanks are, so long messages are scanned once.
        if next_space < index:
            next_space = text.find(" ", index)
            if next_space == -1:
                next_space = length
        if next_tab < index:
            next_tab = text.find("\t", index)
            if next_tab == -1:
                next_tab = length
        end = min(next_space, next_tab)
        values.append(text[index:end])
        starts.append(index)
        index = end
    return values, starts
