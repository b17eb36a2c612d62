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

__all__ = [
    "ALLOWED_REGEX_CHARACTERS",
    "MAX_REGEXES",
    "RegexPattern",
    "compile_regex",
    "parse_regex_pattern",
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

    def __init__(self, text: str, search: Callable[[str], Any]) -> None:
        super().__init__(text)
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
    return RegexPattern(pattern, compile_regex(pattern[start + 1 : close], start + 1, pattern))
