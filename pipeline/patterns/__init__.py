"""The CloudWatch Logs filter-pattern language, as AWS evaluates it.

Stable API, called by other tools::

    from pipeline.patterns import compile_pattern, PatternError
    pattern = compile_pattern('[ip, user, ..., status_code = 4*, bytes]')
    match = pattern.match(message)          # Match | None
    match.extracted_values                  # {"$ip": "...", "$3": "...", ...}

The first non-blank character picks the kind: ``{`` JSON, ``[`` space-delimited,
``%`` a regular expression, anything else unstructured terms; a blank pattern
matches everything.
"""

from __future__ import annotations

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern, Match, MatchAll
from pipeline.patterns.delimited import DelimitedPattern, parse_delimited_pattern
from pipeline.patterns.json_pattern import JsonPattern, parse_json_pattern
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.regex import RegexPattern, parse_regex_pattern
from pipeline.patterns.selectors import MISSING, Selector, parse_selector
from pipeline.patterns.terms import TermsPattern, parse_terms

__all__ = [
    "MAX_PATTERN_LENGTH",
    "MISSING",
    "DelimitedPattern",
    "FilterPattern",
    "JsonPattern",
    "Match",
    "MatchAll",
    "ParsedMessage",
    "PatternError",
    "RegexPattern",
    "Selector",
    "TermsPattern",
    "compile_pattern",
    "compile_selector",
]

MAX_PATTERN_LENGTH = 1024  # the FilterPattern API shape's limit
_BLANKS = " \t\r\n\f\v"
_ENCLOSED = {"{": "}", "[": "]", "%": "%"}


def compile_pattern(text: str) -> FilterPattern:
    """Compile a filter pattern; an invalid one raises :class:`PatternError` with a position."""
    if len(text) > MAX_PATTERN_LENGTH:
        raise PatternError(
            f"Filter pattern is {len(text)} characters long; the maximum is {MAX_PATTERN_LENGTH}",
            MAX_PATTERN_LENGTH,
            text,
        )
    start = len(text) - len(text.lstrip(_BLANKS))
    end = len(text.rstrip(_BLANKS))
    if start >= end:
        return MatchAll(text)
    first = text[start]
    closing = _ENCLOSED.get(first)
    if closing is not None and (end - start < 2 or text[end - 1] != closing):
        raise PatternError(
            f"If a filter pattern starts with '{first}' it must end with '{closing}'",
            end - 1,
            text,
        )
    if first == "{":
        return parse_json_pattern(text, start, end)
    if first == "[":
        return parse_delimited_pattern(text, start, end)
    if first == "%":
        return parse_regex_pattern(text, start, end)
    return parse_terms(text, start, end)


def compile_selector(text: str) -> Selector:
    """Compile a JSON selector (``$.a.b[0]``) on its own, as metric values and dimensions use it."""
    return parse_selector(text, 0, text)
