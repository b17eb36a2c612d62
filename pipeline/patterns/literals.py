"""Reading the value side of a comparison (``= 404``, ``= "x"``, ``= foo*``, ``= %re%``)."""

from __future__ import annotations

import string

from pipeline.errors import PatternError
from pipeline.patterns.lexer import INVALID_PATTERN, Kind, Token
from pipeline.patterns.regex import MAX_REGEXES, TOO_MANY_REGEXES, compile_regex
from pipeline.patterns.values import (
    Literal,
    NumberLiteral,
    RegexLiteral,
    StringLiteral,
    has_huge_exponent,
    parse_number,
)

__all__ = ["ORDERING", "RegexBudget", "read_literal", "unexpected"]

ORDERING = frozenset({"<", ">", "<=", ">="})
# JSON patterns take "alphanumeric" bare values (AWS); '.', '*' (123.123.*), '-', '+', '_' too.
_JSON_BARE = frozenset(string.ascii_letters + string.digits + "._*-+")


class RegexBudget:
    """Counts the regexes of one pattern: AWS allows two."""

    __slots__ = ("used",)

    def __init__(self) -> None:
        self.used = 0

    def spend(self, position: int, pattern: str) -> None:
        self.used += 1
        if self.used > MAX_REGEXES:
            raise PatternError(TOO_MANY_REGEXES, position, pattern)


def shown(token: Token) -> str:
    """A token as the user wrote it, for error messages."""
    if token.kind is Kind.STRING:
        return f'"{token.text}"'
    if token.kind is Kind.REGEX:
        return f"%{token.text}%"
    return token.text


def unexpected(token: Token, pattern: str) -> PatternError:
    if token.kind is Kind.END:
        return PatternError(INVALID_PATTERN, token.position, pattern)
    return PatternError(f"Invalid character(s) in term '{shown(token)}'", token.position, pattern)


def read_literal(
    token: Token, operator: str, pattern: str, regexes: RegexBudget, *, json_mode: bool
) -> Literal:
    """The literal ``token`` spells after ``operator``; ordering operators need a number."""
    if token.kind is Kind.WORD:
        number = parse_number(token.text)
        if number is not None:
            return NumberLiteral(token.text, number)
        if has_huge_exponent(token.text) or operator in ORDERING:
            raise unexpected(token, pattern)
        if json_mode:
            _check_json_bare(token, pattern)
        return StringLiteral.of(token.text)
    if operator in ORDERING:
        raise unexpected(token, pattern)
    if token.kind is Kind.STRING:
        return StringLiteral.of(token.text)
    if token.kind is Kind.REGEX:
        regexes.spend(token.position, pattern)
        return RegexLiteral(token.text, compile_regex(token.text, token.position + 1, pattern))
    raise unexpected(token, pattern)


def _check_json_bare(token: Token, pattern: str) -> None:
    if token.text.lower() == "null":
        raise unexpected(token, pattern)  # AWS refuses "= null": IS NULL says it
    for offset, char in enumerate(token.text):
        if char not in _JSON_BARE and not (ord(char) > 127 and char.isalnum()):
            raise PatternError(
                f"Invalid character(s) in term '{char}'", token.position + offset, pattern
            )
