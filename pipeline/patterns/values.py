"""Literal values of filter patterns and how they compare with what a message holds.

CloudWatch compares numbers numerically (integers exactly), strings with
leading/trailing ``*`` wildcards, and a JSON number against a string literal
through the number's canonical text, which follows Java's
``Double.toString`` (``1e3`` -> ``1000.0``, overflow -> ``Infinity``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

__all__ = [
    "Literal",
    "NumberLiteral",
    "RegexLiteral",
    "StringLiteral",
    "canonical_number_text",
    "has_huge_exponent",
    "is_finite_number",
    "is_json_number",
    "parse_number",
]

_DIGITS = frozenset("0123456789")
_INT32_MAX = 2**31 - 1


def parse_number(text: str) -> int | float | None:
    """The number ``text`` spells (``-1``, ``+1.5``, ``.5``, ``1e-3``), else None.

    Integers stay ``int`` so comparisons are exact; anything with a fraction or
    an exponent is a double, as CloudWatch parses it (``1e-999`` underflows to 0,
    ``1e400`` overflows to infinity). Exponents that do not fit a 32-bit int are
    not numbers (AWS rejects ``1e2147483648``): see :func:`has_huge_exponent`.
    """
    if text.isdigit() and text.isascii():  # the usual field: digits alone, an int
        shape: str | None = "int"
    else:
        shape = _number_shape(text)
    if shape is None or shape == "huge":
        return None
    if shape == "int":
        try:
            return int(text)
        except ValueError:  # more digits than Python converts exactly: as a double
            return float(text)
    return float(text)


def has_huge_exponent(text: str) -> bool:
    """A number whose exponent does not fit a 32-bit int, which AWS refuses in patterns."""
    return _number_shape(text) == "huge"


def _number_shape(text: str) -> str | None:
    if not text:
        return None
    body = text[1:] if text[0] in "+-" else text
    mantissa, has_exponent, exponent = body.replace("E", "e").partition("e")
    whole, dot, fraction = mantissa.partition(".")
    if not (whole or fraction) or not _all_digits(whole) or not _all_digits(fraction):
        return None
    if has_exponent:
        digits = exponent[1:] if exponent[:1] in ("+", "-") else exponent
        if not digits or not _all_digits(digits):
            return None
        significant = digits.lstrip("0")
        if len(significant) > 10 or (significant and int(significant) > _INT32_MAX):
            return "huge"
        return "float"
    return "float" if dot else "int"


def _all_digits(text: str) -> bool:
    return _DIGITS.issuperset(text)


def is_json_number(value: Any) -> bool:
    """True for JSON numbers; Python's bool is an int, and a JSON boolean is not a number."""
    return type(value) is int or type(value) is float


def is_finite_number(value: int | float) -> bool:
    """A JSON number that is not an overflowed double; integers, kept exact, always are.

    (``math.isfinite`` would raise on an integer too large for a double, which the
    lenient parse admits.)
    """
    return type(value) is int or math.isfinite(value)


def canonical_number_text(value: int | float) -> str:
    """The text CloudWatch compares a JSON number by: ints as written, doubles as Java prints."""
    if type(value) is int:
        return str(value)
    number = float(value)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    if number == 0:
        return "-0.0" if math.copysign(1.0, number) < 0 else "0.0"
    magnitude = abs(number)
    if 1e-3 <= magnitude < 1e7:
        return repr(number)  # Python's shortest repr is fixed-point with ".0" in this range
    _, digits, exponent = Decimal(repr(magnitude)).as_tuple()
    text = "".join(map(str, digits)).rstrip("0") or "0"
    scientific = len(digits) - 1 + int(exponent)
    mantissa = f"{text[0]}.{text[1:] or '0'}"
    return f"{'-' if number < 0 else ''}{mantissa}E{scientific}"


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    """An unquoted number in a pattern: numeric comparison, or text equality with a string."""

    text: str
    value: int | float

    def equals_json(self, value: Any) -> bool:
        if type(value) is str:
            return value == self.text
        return is_json_number(value) and is_finite_number(value) and value == self.value


@dataclass(frozen=True, slots=True)
class StringLiteral:
    """A quoted or bare string value; ``*`` at either end is a wildcard, in the middle a literal."""

    text: str
    core: str
    leading: bool
    trailing: bool

    @classmethod
    def of(cls, text: str) -> StringLiteral:
        if text and set(text) == {"*"}:
            return cls(text, "", True, True)
        leading = text.startswith("*")
        trailing = len(text) > 1 and text.endswith("*")
        core = text[1 if leading else 0 : len(text) - 1 if trailing else len(text)]
        return cls(text, core, leading, trailing)

    def matches(self, value: str) -> bool:
        if self.leading and self.trailing:
            return self.core in value
        if self.leading:
            return value.endswith(self.core)
        if self.trailing:
            return value.startswith(self.core)
        return value == self.core

    def equals_json(self, value: Any) -> bool:
        if type(value) is str:
            return self.matches(value)
        return is_json_number(value) and self.matches(canonical_number_text(value))


@dataclass(frozen=True, slots=True)
class RegexLiteral:
    """A ``%regex%`` value: an unanchored search, on a number's canonical text for numbers."""

    text: str
    search: Any  # a compiled re2 search function: (str) -> match or None

    def matches(self, value: str) -> bool:
        return self.search(value) is not None

    def equals_json(self, value: Any) -> bool:
        if type(value) is str:
            return self.matches(value)
        return is_json_number(value) and self.matches(canonical_number_text(value))


Literal = NumberLiteral | StringLiteral | RegexLiteral
