"""The ``%regex%`` dialect of filter patterns, compiled with RE2.

AWS accepts a small character set (no groups, no multi-byte characters) and a
linear-time engine's feature set; RE2 refuses what AWS refuses (possessive
quantifiers, bad classes) and never backtracks, so a hostile pattern cannot
stall the consumer.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

import re2

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.needs import NOTHING, AtomKind, Needs, all_of, any_of, literal

__all__ = [
    "ALLOWED_REGEX_CHARACTERS",
    "MAX_REGEXES",
    "RegexPattern",
    "compile_regex",
    "parse_regex_pattern",
    "regex_needs",
    "required_texts",
]

MAX_REGEXES = 2
TOO_MANY_REGEXES = (
    "Your input has exceeded the maximum of 2 regular expressions per filter pattern."
)

# Alphanumerics, the listed symbols, the listed operators, and the space that
# AWS's own example %^starting|^initializing|^shutting down% needs.
ALLOWED_REGEX_CHARACTERS = frozenset(
    string.ascii_letters + string.digits + ":_#=@/;,-" + "^$?[]{}|\\*+." + " "
)

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print every refused pattern on stderr


def compile_regex(body: str, position: int, pattern: str) -> Callable[[str], Any]:
    """Validate and compile a regex body; return its unanchored search.

    ``position`` is where ``body`` starts in ``pattern``, for error carets.
    """
    if not body:
        raise PatternError("Invalid character(s) in term '%%'", max(position - 1, 0), pattern)
    for offset, char in enumerate(body):
        if char not in ALLOWED_REGEX_CHARACTERS:
            raise PatternError(f"Invalid character(s) in term '{char}'", position + offset, pattern)
    try:
        compiled = re2.compile(body, _OPTIONS)
    except re2.error:
        raise PatternError("Failed to compile regular expression.", position, pattern) from None
    return _safe_search(compiled.search)


def _safe_search(search: Callable[[str], Any]) -> Callable[[str], Any]:
    """RE2 reads UTF-8; a string with lone surrogates cannot be encoded, so mend it first."""

    def run(text: str) -> Any:
        try:
            return search(text)
        except UnicodeEncodeError:
            return search(text.encode("utf-8", "replace").decode("utf-8"))

    return run


class RegexPattern(FilterPattern):
    """A whole pattern ``%regex%``: an unanchored search of the message."""

    __slots__ = ("search",)
    kind = "regex"

    def __init__(self, text: str, search: Callable[[str], Any], needs: Needs = NOTHING) -> None:
        super().__init__(text, needs)
        self.search = search

    def matches(self, message: str | ParsedMessage) -> bool:
        text = message.text if isinstance(message, ParsedMessage) else message
        return self.search(text) is not None


def parse_regex_pattern(pattern: str, start: int, end: int) -> RegexPattern:
    """``pattern[start:end]`` starts and ends with ``%``: exactly one regex, nothing beside it."""
    close = pattern.find("%", start + 1, end)
    if close != end - 1:
        raise PatternError(
            f"Invalid character(s) in term '{pattern[close + 1]}'", close + 1, pattern
        )
    body = pattern[start + 1 : close]
    return RegexPattern(pattern, compile_regex(body, start + 1, pattern), regex_needs(body))


# -- the texts every match contains, for prefilters (pipeline.patterns.needs) -------------

# Escapes that stand for one character of a class, an assertion or a control character:
# each breaks a run of literal text and consumes nothing after the letter.
_CLASS_ESCAPES = frozenset("dDsSwWbBAzntrfva")
_HEX = frozenset(string.hexdigits)
_BREAK = None  # in a branch's atoms: anything that is not one fixed character


def regex_needs(body: str, kind: AtomKind = "text") -> Needs:
    """What a text must hold for ``body`` to find a match in it (see :func:`required_texts`)."""
    branches = required_texts(body)
    if branches is None:
        return NOTHING
    return any_of(*(all_of(*(literal(run, kind) for run in runs)) for runs in branches))


def required_texts(body: str) -> list[list[str]] | None:
    """Per top-level alternative, the literal runs each of its matches contains; None: unknown.

    AWS's dialect has no groups, so a regex is alternatives of sequences, and a
    run of plain characters that no quantifier makes optional occurs in every
    match of its alternative. Anything not understood here (``\\Q``, ``\\p``,
    octal escapes, POSIX classes) gives None, which needs nothing. ``?`` is left
    out of runs: a search mends lone surrogates into ``?`` before it looks.
    """
    if "(" in body or ")" in body:
        return None
    branches: list[list[str]] = []
    atoms: list[str | None] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "|":
            branches.append(_runs(atoms))
            atoms = []
        elif char == "\\":
            escaped = body[index + 1 : index + 2]
            if not escaped:
                return None
            if not escaped.isalnum():
                atoms.append(escaped)
            elif escaped in _CLASS_ESCAPES:
                atoms.append(_BREAK)
            elif escaped == "x":
                digits = body[index + 2 : index + 4]
                if len(digits) != 2 or not _HEX.issuperset(digits):
                    return None  # \\x{...}: not worth reading
                atoms.append(_BREAK)
                index += 2
            else:
                return None
            index += 1
        elif char == "[":
            end = _class_end(body, index)
            if end is None:
                return None
            atoms.append(_BREAK)
            index = end
            continue
        elif char in "*?":  # the atom before may be absent (or this is a lazy marker)
            if atoms:
                atoms[-1] = _BREAK
        elif char == "+":  # the atom before occurs at least once, perhaps repeated
            atoms.append(_BREAK)
        elif char == "{":
            repeat = _repetition(body, index)
            if repeat is None:
                atoms.append(_BREAK)  # RE2 reads a brace that starts no repetition as itself
            else:
                least, index = repeat
                if least == 0 and atoms:
                    atoms[-1] = _BREAK
                atoms.append(_BREAK)
                continue
        elif char in ".^$":
            atoms.append(_BREAK)
        else:
            atoms.append(char)
        index += 1
    branches.append(_runs(atoms))
    return branches


def _runs(atoms: list[str | None]) -> list[str]:
    runs: list[str] = []
    current: list[str] = []
    for atom in [*atoms, _BREAK]:
        if atom is None or atom == "?":
            if current:
                runs.append("".join(current))
            current = []
        else:
            current.append(atom)
    return runs


def _class_end(body: str, start: int) -> int | None:
    """The index just past the ``]`` closing the class opened at ``start``."""
    index = start + 1
    if body.startswith("^", index):
        index += 1
    if body.startswith("]", index):
        index += 1  # a leading ']' is a member
    while index < len(body):
        char = body[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":
            return None  # [[:alpha:]] and the like: not worth reading
        if char == "]":
            return index + 1
        index += 1
    return None


def _repetition(body: str, start: int) -> tuple[int, int] | None:
    """``{m}``, ``{m,}`` or ``{m,n}`` at ``start``: the least count and the index past it."""
    close = body.find("}", start)
    if close == -1:
        return None
    least, _, most = body[start + 1 : close].partition(",")
    if not _is_count(least) or (most and not _is_count(most)):
        return None
    return int(least), close + 1


def _is_count(text: str) -> bool:
    return text.isdigit() and text.isascii()
