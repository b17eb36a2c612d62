"""Space-delimited patterns: ``[ip, user, ..., status_code = 4* || status_code = 5*, bytes]``.

Binding follows what AWS answers, which surprises everyone: without ``...``
the first n-1 entries take the first n-1 fields and the last entry takes the
raw remainder of the line when the message has more fields than entries; with
``...`` the entries before it take the first fields, those after it the last
fields, one each. Every bound field is extracted, named entries as ``$name``,
the others as ``$<1-based position>``.
"""

from __future__ import annotations

import operator
import string
from collections.abc import Callable
from dataclasses import dataclass

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern, Match, as_parsed
from pipeline.patterns.lexer import Kind, Token, tokenize
from pipeline.patterns.literals import RegexBudget, read_literal, unexpected
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.values import Literal, NumberLiteral, parse_number

__all__ = ["DelimitedPattern", "parse_delimited_pattern"]

ELLIPSIS = "..."
_NAME_START = frozenset(string.ascii_letters + "_")
_NAME_REST = frozenset(string.ascii_letters + string.digits + "_-")
_NUMERIC: dict[str, Callable[[float, float], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}

Condition = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Entry:
    """One comma-separated slot: its name (None when unnamed) and its condition."""

    name: str | None
    condition: Condition | None


class DelimitedPattern(FilterPattern):
    __slots__ = ("after", "before", "ellipsis", "names")
    kind = "delimited"
    supports_dimensions = True

    def __init__(
        self, text: str, before: tuple[Entry, ...], after: tuple[Entry, ...], ellipsis: bool
    ) -> None:
        super().__init__(text)
        self.before = before  # every entry when there is no ellipsis
        self.after = after
        self.ellipsis = ellipsis
        self.names = tuple(entry.name for entry in before + after if entry.name)

    def match(self, message: str | ParsedMessage) -> Match | None:
        view = as_parsed(message)
        bound = self._bind(view)
        if bound is None:
            return None
        entries, values, positions = bound
        for entry, value in zip(entries, values, strict=True):
            if entry.condition is not None and not entry.condition(value):
                return None
        return Match(
            {
                f"${entry.name}" if entry.name else f"${position}": value
                for entry, value, position in zip(entries, values, positions, strict=True)
            }
        )

    def matches(self, message: str | ParsedMessage) -> bool:
        view = as_parsed(message)
        bound = self._bind(view)
        if bound is None:
            return False
        for entry, value in zip(bound[0], bound[1], strict=True):
            if entry.condition is not None and not entry.condition(value):
                return False
        return True

    def _bind(self, view: ParsedMessage) -> tuple[list[Entry], list[str], list[int]] | None:
        """Entries, the values bound to them and their 1-based positions; None if too few fields."""
        values, starts = view.fields
        total = len(values)
        if not self.ellipsis:
            count = len(self.before)
            if total < count:
                return None
            if count == 0:  # "[]": every field, positionally
                return [_COVERED] * total, list(values), list(range(1, total + 1))
            bound = values[: count - 1]
            bound.append(values[count - 1] if total == count else view.text[starts[count - 1] :])
            return list(self.before), bound, list(range(1, count + 1))
        head, tail = len(self.before), len(self.after)
        if total < head + tail:
            return None
        covered = total - head - tail
        entries = [*self.before, *([_COVERED] * covered), *self.after]
        return entries, list(values), list(range(1, total + 1))


_COVERED = Entry(None, None)  # a field under "..." or under "[]": extracted by position


# -- conditions on one field --------------------------------------------------------------


def _comparison(operator_text: str, literal: Literal) -> Condition:
    if isinstance(literal, NumberLiteral):
        compare = _NUMERIC[operator_text]
        bound = literal.value
        unparsable = operator_text == "!="  # "!=" is the negation of "="

        def numeric(field: str) -> bool:
            number = parse_number(field)
            return unparsable if number is None else compare(number, bound)

        return numeric
    matches = literal.matches
    if operator_text == "=":
        return matches
    return lambda field: not matches(field)


def _all(conditions: list[Condition]) -> Condition:
    return lambda field: all(condition(field) for condition in conditions)


def _any(conditions: list[Condition]) -> Condition:
    return lambda field: any(condition(field) for condition in conditions)


# -- parser -------------------------------------------------------------------------------


class _SlotParser:
    """One slot's condition: ``name op value (('&&'|'||') name op value)*``, && binding tighter."""

    def __init__(self, pattern: str, tokens: list[Token], regexes: RegexBudget) -> None:
        self.pattern = pattern
        self.tokens = [*tokens, Token(Kind.END, "", tokens[-1].position + len(tokens[-1].text))]
        self.index = 0
        self.regexes = regexes
        self.name: Token | None = None

    def next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def parse(self) -> Condition:
        disjuncts = [self.conjunction()]
        while self.tokens[self.index].kind is Kind.OR:
            self.next()
            disjuncts.append(self.conjunction())
        leftover = self.tokens[self.index]
        if leftover.kind is not Kind.END:
            raise unexpected(leftover, self.pattern)
        return disjuncts[0] if len(disjuncts) == 1 else _any(disjuncts)

    def conjunction(self) -> Condition:
        conjuncts = [self.comparison()]
        while self.tokens[self.index].kind is Kind.AND:
            self.next()
            conjuncts.append(self.comparison())
        return conjuncts[0] if len(conjuncts) == 1 else _all(conjuncts)

    def comparison(self) -> Condition:
        name = self.next()
        if name.kind is not Kind.WORD:
            raise unexpected(name, self.pattern)
        _check_name(name, self.pattern)
        if self.name is None:
            self.name = name
        elif name.text != self.name.text:
            raise PatternError(
                "Multiple variables used in a single filter. "
                f"Var1 : {self.name.text}, Var2 : {name.text}",
                name.position,
                self.pattern,
            )
        operator_token = self.next()
        if operator_token.kind is not Kind.OP:
            raise unexpected(operator_token, self.pattern)
        literal = read_literal(
            self.next(), operator_token.text, self.pattern, self.regexes, json_mode=False
        )
        return _comparison(operator_token.text, literal)


def _check_name(token: Token, pattern: str) -> None:
    text = token.text
    if not (text[0] in _NAME_START or text[0].isalpha()) or not all(
        char in _NAME_REST or char.isalnum() for char in text
    ):
        raise PatternError(f"Invalid field name '{text}'", token.position, pattern)


def _slots(tokens: list[Token]) -> list[list[Token]]:
    slots: list[list[Token]] = [[]]
    for token in tokens:
        if token.kind is Kind.COMMA:
            slots.append([])
        elif token.kind is not Kind.END:
            slots[-1].append(token)
    return slots


def parse_delimited_pattern(pattern: str, start: int, end: int) -> DelimitedPattern:
    """Parse ``pattern[start:end]``, which starts with ``[`` and ends with ``]``."""
    tokens = tokenize(pattern, start + 1, end - 1, json_mode=False)
    if tokens[0].kind is Kind.END:
        return DelimitedPattern(pattern, (), (), False)
    regexes = RegexBudget()
    entries: list[Entry] = []
    ellipsis_at: int | None = None
    seen: set[str] = set()
    for slot in _slots(tokens):
        if not slot:
            entries.append(Entry(None, None))
            continue
        first = slot[0]
        if len(slot) == 1 and first.kind is Kind.WORD and first.text == ELLIPSIS:
            if ellipsis_at is not None:
                raise PatternError(f"Duplicate field '{ELLIPSIS}'", first.position, pattern)
            ellipsis_at = len(entries)
            continue
        if len(slot) == 1 and first.kind is Kind.WORD:
            _check_name(first, pattern)
            entry = Entry(first.text, None)
        else:
            parser = _SlotParser(pattern, slot, regexes)
            condition = parser.parse()
            assert parser.name is not None
            entry = Entry(parser.name.text, condition)
        if entry.name in seen:
            raise PatternError(f"Duplicate field '{entry.name}'", first.position, pattern)
        seen.add(entry.name or "")
        entries.append(entry)
    if ellipsis_at is None:
        return DelimitedPattern(pattern, tuple(entries), (), False)
    return DelimitedPattern(
        pattern, tuple(entries[:ellipsis_at]), tuple(entries[ellipsis_at:]), True
    )
