"""Unstructured term patterns: ``ERROR``, ``"two words"``, ``-excluded``, ``?optional``.

A term matches as a case-sensitive substring. When the pattern has any plain
or ``-`` term, every plain term must occur, no ``-`` term may, and ``?`` terms
are ignored; a pattern of ``?`` terms alone matches when any occurs. Inside a
bare word ``-`` and ``?`` are operators (``a-b`` is ``a -b``), as AWS does.

A bare word holds letters, digits, ``_``, ``.``, non-ASCII characters and
``=``. AWS refuses ``* ! : / @ %`` with ``Invalid character(s) in term``
(the recorded probes in reference/filter-patterns.md §2.1) but accepts ``=``:
``FilterLogEvents(filterPattern="Token=")`` returns events. Nothing shows ``=``
splitting the word or acting as an operator there, so it is an ordinary
character and ``Token=`` matches the substring ``Token=``, not ``Token abc``.
Of the two readings this is the narrower one, so a metric filter written as
``Token=`` never counts a line that lacks the text its author wrote. Other
punctuation AWS was never seen to accept (``# , ; + $ ( ) < > '``) stays
refused: every ordinary symbol probed besides ``=`` was refused, which points
to a short list of allowed characters rather than a short list of refused ones.
"""

from __future__ import annotations

import string

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern
from pipeline.patterns.lexer import INVALID_PATTERN, read_quoted
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.needs import all_of, any_of, literal

__all__ = ["TermsPattern", "parse_terms"]

_BARE_ASCII = frozenset(string.ascii_letters + string.digits + "_.=")
_BLANKS = frozenset(" \t\r\n\f\v")


def _is_bare(char: str) -> bool:
    return char in _BARE_ASCII or (ord(char) > 127 and not char.isspace())


class TermsPattern(FilterPattern):
    __slots__ = ("any_of", "excluded", "required")
    kind = "terms"

    def __init__(
        self,
        text: str,
        required: tuple[str, ...],
        excluded: tuple[str, ...],
        optional: tuple[str, ...],
    ) -> None:
        # '?' terms count only when nothing else is there (AWS ignores them otherwise).
        any_of_terms = () if (required or excluded) else optional
        needs = all_of(
            *(literal(term) for term in required),
            any_of(*(literal(term) for term in any_of_terms)),
        )
        super().__init__(text, needs)
        self.required = required
        self.excluded = excluded
        self.any_of = any_of_terms

    def matches(self, message: str | ParsedMessage) -> bool:
        text = message.text if isinstance(message, ParsedMessage) else message
        for term in self.required:
            if term not in text:
                return False
        for term in self.excluded:
            if term in text:
                return False
        if self.any_of:
            return any(term in text for term in self.any_of)
        return True


def parse_terms(pattern: str, start: int, end: int) -> TermsPattern:
    """Parse ``pattern[start:end]`` (already trimmed) as unstructured terms."""
    required: list[str] = []
    excluded: list[str] = []
    optional: list[str] = []
    index = start
    while index < end:
        char = pattern[index]
        if char in _BLANKS:
            index += 1
            continue
        prefix = ""
        if char in "-?":
            prefix = char
            index += 1
            if index >= end or pattern[index] in _BLANKS:
                raise PatternError(INVALID_PATTERN, index - 1, pattern)
            char = pattern[index]
        if char == '"':
            term, index = _read_phrase(pattern, index, end)
        else:
            term, index = _read_word(pattern, index, end)
        {"": required, "-": excluded, "?": optional}[prefix].append(term)
    return TermsPattern(pattern, tuple(required), tuple(excluded), tuple(optional))


def _read_phrase(pattern: str, index: int, end: int) -> tuple[str, int]:
    """A quoted phrase: any characters, ``\\"`` and ``\\\\`` escaped; never empty."""
    phrase, after = read_quoted(pattern, index, end)
    if not phrase:
        raise PatternError(INVALID_PATTERN, index, pattern)  # AWS refuses ""
    if after < end and pattern[after] not in _BLANKS and pattern[after] not in "-?":
        raise PatternError(INVALID_PATTERN, after, pattern)  # "ERROR"WARN
    return phrase, after


def _read_word(pattern: str, index: int, end: int) -> tuple[str, int]:
    first = index
    while index < end and _is_bare(pattern[index]):
        index += 1
    if index < end and pattern[index] not in _BLANKS and pattern[index] not in "-?":
        raise PatternError(f"Invalid character(s) in term '{pattern[index]}'", index, pattern)
    if index == first:
        raise PatternError(INVALID_PATTERN, index, pattern)  # an operator with nothing after it
    return pattern[first:index], index
