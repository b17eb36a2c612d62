"""Tokens of a Logs Insights query, each with its offset so errors can point at it.

The one ambiguity is ``/``: division after an operand, a regex literal
elsewhere (``like /x/``, ``=~ /x/``, ``parse @message /(?<a>.*)/``), which is
how the console's own tokenizer reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import InsightsError

__all__ = ["Token", "tokenize"]

_OPERATORS = ("!=", "<=", ">=", "=~", "=", "<", ">", "+", "-", "*", "/", "^", "%")
_PUNCTUATION = "()[],|:."
_NAME_START = frozenset("@_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_PART = _NAME_START | frozenset("0123456789.")
_DIGITS = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class Token:
    """``kind``: name, quoted (a backquoted name), string, regex, number, op, punct, end."""

    kind: str
    text: str  # names and strings unescaped; operators and punctuation as written
    position: int
    value: float | int | None = None  # numbers

    def is_word(self, *words: str) -> bool:
        """A bare name equal to one of ``words``, ignoring case (keywords are names)."""
        return self.kind == "name" and self.text.lower() in words


def tokenize(query: str) -> list[Token]:
    """Every token of ``query``, then an ``end`` token; ``InsightsError`` at the first
    character that starts none."""
    tokens: list[Token] = []
    i, n = 0, len(query)
    while i < n:
        c = query[i]
        if c.isspace():
            i += 1
        elif c == "#" and (i == 0 or query[i - 1].isspace()):
            newline = query.find("\n", i)
            i = n if newline < 0 else newline
        elif c in "'\"":
            start = i
            text, i = _string(query, i)
            tokens.append(Token("string", text, start))
        elif c == "`":
            end = query.find("`", i + 1)
            if end < 0:
                raise InsightsError("unterminated backquoted name: expected a closing `", i, query)
            tokens.append(Token("quoted", query[i + 1 : end], i))
            i = end + 1
        elif c == "/" and not _after_operand(tokens):
            end = _regex_end(query, i)
            tokens.append(Token("regex", query[i + 1 : end], i))
            i = end + 1
        elif c in _DIGITS or (c == "." and i + 1 < n and query[i + 1] in _DIGITS):
            token, i = _number(query, i)
            tokens.append(token)
        elif c in _NAME_START:
            start = i
            while i < n and query[i] in _NAME_PART:
                i += 1
            name = query[start:i]
            if name.endswith(".") and len(name) > 1:  # a.`b.c`: the dot is an access
                name = name.rstrip(".")
                i = start + len(name)
            tokens.append(Token("name", name, start))
        elif c in _PUNCTUATION:
            tokens.append(Token("punct", c, i))
            i += 1
        else:
            op = next((op for op in _OPERATORS if query.startswith(op, i)), None)
            if op is None:
                raise InsightsError(f"unexpected character {c!r}", i, query)
            tokens.append(Token("op", op, i))
            i += len(op)
    tokens.append(Token("end", "", n))
    return tokens


def _after_operand(tokens: list[Token]) -> bool:
    if not tokens:
        return False
    last = tokens[-1]
    if last.kind in ("number", "string", "regex", "quoted"):
        return True
    if last.kind == "punct":
        return last.text in ")]"
    if last.kind == "name":  # a field, unless it is a keyword that takes an operand
        if last.is_word("like", "and", "or", "not", "in", "by", "as", "filter", "where", "parse"):
            return False
        # parse @message /(?<a>.*)/: the field is parse's source, the regex its pattern
        return not (len(tokens) > 1 and tokens[-2].is_word("parse"))
    return False


def _string(query: str, start: int) -> tuple[str, int]:
    quote = query[start]
    out: list[str] = []
    i = start + 1
    while i < len(query):
        c = query[i]
        if c == "\\" and i + 1 < len(query):
            escaped = query[i + 1]
            out.append({"n": "\n", "t": "\t", "r": "\r"}.get(escaped, escaped))
            i += 2
        elif c == quote:
            if i + 1 < len(query) and query[i + 1] == quote:  # '' inside '...'
                out.append(quote)
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(c)
            i += 1
    raise InsightsError(f"unterminated string: expected a closing {quote}", start, query)


def _regex_end(query: str, start: int) -> int:
    i = start + 1
    while i < len(query):
        if query[i] == "\\":
            i += 2
            continue
        if query[i] == "/":
            return i
        i += 1
    raise InsightsError("unterminated regular expression: expected a closing /", start, query)


def _number(query: str, start: int) -> tuple[Token, int]:
    i = start
    n = len(query)
    if query.startswith(("0x", "0X"), i):
        i += 2
        while i < n and query[i] in "0123456789abcdefABCDEF":
            i += 1
        text = query[start:i]
        return Token("number", text, start, int(text, 16)), i
    while i < n and query[i] in _DIGITS:
        i += 1
    is_float = False
    if i < n and query[i] == "." and i + 1 < n and query[i + 1] in _DIGITS:
        is_float = True
        i += 1
        while i < n and query[i] in _DIGITS:
            i += 1
    if (
        i < n
        and query[i] in "eE"
        and i + 1 < n
        and (query[i + 1] in _DIGITS or query[i + 1] in "+-")
    ):
        j = i + 1 + (query[i + 1] in "+-")
        if j < n and query[j] in _DIGITS:
            is_float = True
            i = j
            while i < n and query[i] in _DIGITS:
                i += 1
    text = query[start:i]
    if i < n and query[i] in _NAME_START:  # 5m, 1h: a duration is a name, digits first
        while i < n and query[i] in _NAME_PART:
            i += 1
        return Token("name", query[start:i], start), i
    value: float | int = float(text) if is_float else int(text)
    return Token("number", text, start, value), i
