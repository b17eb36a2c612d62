"""Tokens of the structured pattern kinds (JSON ``{...}`` and space-delimited ``[...]``).

Each token keeps its offset in the original pattern, so every error can point
at the character that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from pipeline.errors import PatternError

__all__ = ["INVALID_PATTERN", "Kind", "Token", "read_quoted", "tokenize"]

INVALID_PATTERN = "Invalid metric filter pattern"
_BLANKS = frozenset(" \t\r\n\f\v")


class Kind(Enum):
    LPAREN = "("
    RPAREN = ")"
    AND = "&&"
    OR = "||"
    OP = "operator"
    STRING = "quoted string"
    REGEX = "regex"
    WORD = "word"
    COMMA = ","
    END = "end"


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    text: str  # the value: operator, unescaped string, regex body, word
    position: int  # offset of the token's first character in the pattern


def tokenize(pattern: str, start: int, end: int, *, json_mode: bool) -> list[Token]:
    """Split ``pattern[start:end]`` into tokens; the list ends with an END token.

    Parentheses are grammar only in JSON patterns and commas only in
    space-delimited ones; elsewhere they are ordinary word characters, which the
    parser then judges.
    """
    stops = frozenset('&|=!<>"%') | _BLANKS | (frozenset("()") if json_mode else frozenset(","))
    tokens: list[Token] = []
    index = start
    while index < end:
        char = pattern[index]
        if char in _BLANKS:
            index += 1
        elif json_mode and char in "()":
            tokens.append(Token(Kind.LPAREN if char == "(" else Kind.RPAREN, char, index))
            index += 1
        elif not json_mode and char == ",":
            tokens.append(Token(Kind.COMMA, char, index))
            index += 1
        elif char in "&|":
            if index + 1 >= end or pattern[index + 1] != char:
                raise PatternError(f"Invalid character(s) in term '{char}'", index, pattern)
            tokens.append(Token(Kind.AND if char == "&" else Kind.OR, char * 2, index))
            index += 2
        elif char in "=!<>":
            operator = pattern[index : index + 2] if pattern[index + 1 : index + 2] == "=" else char
            if operator in ("!", "=="):
                raise PatternError(f"Invalid character(s) in term '{operator}'", index, pattern)
            tokens.append(Token(Kind.OP, operator, index))
            index += len(operator)
        elif char == '"':
            opening = index
            text, index = read_quoted(pattern, index, end)
            tokens.append(Token(Kind.STRING, text, opening))
        elif char == "%":
            close = pattern.find("%", index + 1, end)
            if close == -1:
                raise PatternError(INVALID_PATTERN, index, pattern)  # unterminated regex
            tokens.append(Token(Kind.REGEX, pattern[index + 1 : close], index))
            index = close + 1
        else:
            first = index
            index = _word_end(pattern, index, end, stops)
            tokens.append(Token(Kind.WORD, pattern[first:index], first))
    tokens.append(Token(Kind.END, "", end))
    return tokens


def read_quoted(pattern: str, index: int, end: int) -> tuple[str, int]:
    """The text of the quoted string opening at ``index`` (``\\"`` and ``\\\\`` escaped), and
    the index after its closing quote; an unterminated quote is an invalid pattern."""
    opening = index
    chars: list[str] = []
    index += 1
    while index < end:
        char = pattern[index]
        if char == "\\" and index + 1 < end and pattern[index + 1] in '"\\':
            chars.append(pattern[index + 1])
            index += 2
        elif char == '"':
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    raise PatternError(INVALID_PATTERN, opening, pattern)  # unterminated quote


def _word_end(pattern: str, index: int, end: int, stops: frozenset[str]) -> int:
    """Where a word ends; a ``['quoted key']`` inside a selector may hold any character."""
    while index < end:
        char = pattern[index]
        if char == "[" and pattern.startswith("'", index + 1):
            close = pattern.find("']", index + 2, end)
            index = end if close == -1 else close + 2
        elif char in stops:
            break
        else:
            index += 1
    return index
