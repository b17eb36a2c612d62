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

    __slots__ = ("_fields", "_json", "_lenient", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._json: Any = _UNSET
        self._lenient = False
        self._fields: tuple[list[str], list[int]] | None = None

    @property
    def json_object(self) -> dict[str, Any] | None:
        """The message as a JSON object, or None when it is not exactly one JSON object."""
        if self._json is _UNSET:
            self._json, self._lenient = _parse_json_object(self.text)
        result: dict[str, Any] | None = self._json
        return result

    def leading_json_object(self) -> dict[str, Any] | None:
        """The JSON object from the first ``{`` on, read strictly as the console's function
        reads it (``JSON.parse``); shares the parse of :attr:`json_object` when the message
        starts with the object, so a JSON line is parsed once for patterns and document."""
        text = self.text
        start = text.find("{")
        if start < 0:
            return None
        if start == 0 or not text[:start].strip(" \t\r\n"):
            found = self.json_object
            return None if self._lenient else found
        try:
            value = orjson.loads(text[start:])
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def fields(self) -> tuple[list[str], list[int]]:
        """Space-delimited field values and the offset where each field starts."""
        if self._fields is None:
            self._fields = split_fields(self.text)
        return self._fields


def _parse_json_object(text: str) -> tuple[dict[str, Any] | None, bool]:
    """The object and whether only the lenient second chance could read it."""
    if not text.lstrip(" \t\r\n").startswith("{"):
        return None, False  # the common case for plain log lines: no parser call at all
    lenient = False
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = _parse_json_leniently(text)
        lenient = True
    return (value if isinstance(value, dict) else None), lenient


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
    other field runs to the next blank. Each search remembers where it found its
    character, so the split is linear even for hostile messages (``[a [b [c ...``).
    """
    values: list[str] = []
    starts: list[int] = []
    length = len(text)
    find = text.find
    # Where each character next occurs (length: nowhere), refreshed only once passed.
    space = tab = quote = bracket = -1
    index = 0
    while index < length:
        char = text[index]
        if char == " " or char == "\t":
            index += 1
            continue
        if char == '"':
            if quote <= index:
                quote = find('"', index + 1)
                quote = length if quote == -1 else quote
            if quote < length:
                values.append(text[index + 1 : quote])
                starts.append(index)
                index = quote + 1
                continue
        elif char == "[":
            if bracket <= index:
                bracket = find("]", index + 1)
                bracket = length if bracket == -1 else bracket
            if bracket < length:
                values.append(text[index + 1 : bracket])
                starts.append(index)
                index = bracket + 1
                continue
        if space < index:
            space = find(" ", index)
            space = length if space == -1 else space
        if tab < index:
            tab = find("\t", index)
            tab = length if tab == -1 else tab
        end = space if space < tab else tab
        values.append(text[index:end])
        starts.append(index)
        index = end
    return values, starts
