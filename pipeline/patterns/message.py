"""A log message as patterns see it, parsed at most once however many patterns look.

JSON patterns need the message as a JSON object, space-delimited patterns need
its fields; both are computed on first use and cached on the view, so a route
with ten metric filters parses a message once, not ten times.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

__all__ = ["ParsedMessage", "split_fields"]

_UNSET: Any = object()


class ParsedMessage:
    """One message plus its lazily parsed JSON object and space-delimited fields."""

    __slots__ = ("_blanks", "_json", "_lenient", "_plain", "_starts", "_values", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._json: Any = _UNSET
        self._lenient = False
        self._values: list[str] | None = None
        self._starts: list[int] | None = None
        self._plain: bool | None = None  # no field starts with a quote or a bracket
        self._blanks = -1  # spaces and tabs, once counted

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
        return self.field_values, self.field_starts

    @property
    def field_values(self) -> list[str]:
        """Space-delimited field values; most patterns never need where the fields start."""
        if self._values is None:
            text = self.text
            if self.plain_fields:
                self._values = _PLAIN_FIELD.findall(text)
            elif text.find("[", text.rfind("]") + 1) == -1:
                # Every bracket that opens a field closes, so the expression pairs
                # delimiters in linear time (a quote left open can only be the last).
                found = _FIELD.findall(text)
                self._values = [quoted or bracketed or plain for quoted, bracketed, plain in found]
            else:  # [a [b [c ...: the loop remembers its searches
                self._values, self._starts = split_fields(text)
        return self._values

    @property
    def plain_fields(self) -> bool:
        """Whether no field starts with a quote or a bracket, so blanks alone delimit them.

        A field that does not start with one runs to the next blank, so when no
        run of non-blanks starts with one (no opener at the start or after a
        blank: compact JSON, Lambda's lines) the fields are exactly those runs.
        """
        if self._plain is None:
            text = self.text
            self._plain = not (
                ' "' in text
                or " [" in text
                or '\t"' in text
                or "\t[" in text
                or text.lstrip(" \t")[:1] in ('"', "[")
            )
        return self._plain

    def has_fewer_fields(self, count: int) -> bool:
        """Whether the message has fewer than ``count`` fields, without splitting it if it can.

        Plain fields are separated by at least one blank each, so a message with
        fewer blanks than ``count - 1`` cannot hold ``count`` of them.
        """
        if self._values is None and (self.plain_fields if self._plain is None else self._plain):
            if self._blanks < 0:
                self._blanks = self.text.count(" ") + self.text.count("\t")
            if self._blanks + 1 < count:
                return True
        return len(self.field_values) < count

    def field_start(self, index: int) -> int:
        """Where field ``index`` starts (it exists), without finding where every field starts."""
        if self._starts is None:
            self.field_values  # noqa: B018 - the loop, when it had to split, fills both
        if self._starts is not None:
            return self._starts[index]
        for number, found in enumerate(self._expression().finditer(self.text)):
            if number == index:
                return found.start()
        raise IndexError(index)

    @property
    def field_starts(self) -> list[int]:
        """The offset where each field starts (the last entry of a pattern may take the rest)."""
        starts = self._starts
        if starts is None:
            self.field_values  # noqa: B018 - the loop, when it had to split, fills both
            # read again through a call: a narrowed ``self._starts`` would still say None
            # here, and mypyc checks what it reads against the narrowed type
            starts = self._split_starts()
            if starts is None:  # the values came from an expression: the starts do too
                starts = [found.start() for found in self._expression().finditer(self.text)]
                self._starts = starts
        return starts

    def _split_starts(self) -> list[int] | None:
        return self._starts

    def _expression(self) -> re.Pattern[str]:
        """The expression ``field_values`` split with (when it did not take the loop)."""
        return _PLAIN_FIELD if self._plain else _FIELD


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


_PLAIN_FIELD = re.compile(r"[^ \t]+")
# A field: quoted or bracketed (delimiters left out; exactly one group takes part, so
# an empty one is an empty field), or a run of non-blanks; as split_fields reads them.
_FIELD = re.compile(r'"([^"]*)"|\[([^\]]*)\]|([^ \t]+)')


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
