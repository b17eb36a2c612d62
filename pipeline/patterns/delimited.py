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
from typing import Any

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern, Match
from pipeline.patterns.lexer import Kind, Token, tokenize
from pipeline.patterns.literals import RegexBudget, read_literal, unexpected
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.needs import NOTHING, Atom, Needs, all_of, any_of, literal
from pipeline.patterns.regex import regex_needs
from pipeline.patterns.selectors import MISSING
from pipeline.patterns.values import (
    Literal,
    NumberLiteral,
    RegexLiteral,
    StringLiteral,
    parse_number,
)

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
    """One comma-separated slot: its name (None when unnamed), its condition and its needs."""

    name: str | None
    condition: Condition | None
    needs: Needs = NOTHING


class DelimitedPattern(FilterPattern):
    __slots__ = ("_before_keys", "_checks", "_minimum", "after", "before", "ellipsis", "names")
    kind = "delimited"
    supports_dimensions = True

    def __init__(
        self, text: str, before: tuple[Entry, ...], after: tuple[Entry, ...], ellipsis: bool
    ) -> None:
        # Every bound value is a slice of the message, so what a value needs, the message needs.
        super().__init__(text, all_of(*(entry.needs for entry in before + after)))
        self.before = before  # every entry when there is no ellipsis
        self.after = after
        self.ellipsis = ellipsis
        self.names = tuple(entry.name for entry in before + after if entry.name)
        self._minimum = len(before) + len(after)
        self._before_keys = _keys(before, 1)
        # Each condition with the index of its field: from the start, or (after "...") from
        # the end; without "..." the last entry may take the remainder instead (_holds).
        self._checks = tuple(
            (index, entry.condition)
            for index, entry in [
                *enumerate(before),
                *((index - len(after), entry) for index, entry in enumerate(after)),
            ]
            if entry.condition is not None
        )

    def match(self, message: str | ParsedMessage) -> Match | None:
        extracted = self.extract(message)
        return None if extracted is None else Match(extracted)

    def extract(self, message: str | ParsedMessage) -> dict[str, str] | None:
        """``match(...).extracted_values`` without the Match: what metric filters read."""
        view = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
        return self._extracted(view) if self._holds(view) else None

    def matches(self, message: str | ParsedMessage) -> bool:
        view = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
        return self._holds(view)

    def value_reader(self, name: str) -> Callable[[ParsedMessage], Any]:
        """What ``match(view).extracted_values`` gives for ``name``, read alone (or MISSING).

        ``$size`` by name, ``$7`` by position even when the seventh entry has a
        name, as metric values and dimensions read them; only for a message the
        pattern matches. A metric filter reads one or two values of a line, so it
        need not bind every field.
        """
        digits = name[1:]
        entries = [*self.before, *self.after]
        named = [index for index, entry in enumerate(entries) if f"${entry.name}" == name]
        if named:
            index = named[0]
            if index >= len(self.before):  # after "...": counted from the end
                from_end = index - len(self.before) - len(self.after)
                return lambda view: view.field_values[from_end]
            return self._positional(index + 1)
        if digits.isdigit():
            return self._positional(int(digits))
        return lambda view: MISSING

    def _positional(self, position: int) -> Callable[[ParsedMessage], Any]:
        count = len(self.before)
        if self.ellipsis or count == 0:  # every field is bound, in order

            def any_field(view: ParsedMessage) -> Any:
                values = view.field_values
                return values[position - 1] if 1 <= position <= len(values) else MISSING

            return any_field
        if not 1 <= position <= count:
            return lambda view: MISSING
        if position < count:
            return lambda view: view.field_values[position - 1]

        def last(view: ParsedMessage) -> Any:  # the last entry takes the rest of a longer line
            values = view.field_values
            if len(values) == count:
                return values[count - 1]
            return view.text[view.field_start(count - 1) :]

        return last

    def _holds(self, view: ParsedMessage) -> bool:
        """Enough fields, and every condition true of its field; no binding built."""
        if view.has_fewer_fields(self._minimum):
            return False
        values = view.field_values
        total = len(values)
        last = self._minimum - 1
        remainder = not self.ellipsis and total > self._minimum
        for index, condition in self._checks:
            if remainder and index == last:
                value = view.text[view.field_start(last) :]
            else:
                value = values[index]
            if not condition(value):
                return False
        return True

    def _extracted(self, view: ParsedMessage) -> dict[str, str]:
        """Every bound value by its name, or by its 1-based position when it has none."""
        values = view.field_values
        total = len(values)
        if not self.ellipsis:
            count = len(self.before)
            if count == 0:  # "[]": every field, positionally
                return {f"${position}": value for position, value in enumerate(values, 1)}
            bound = values[:count]
            if total > count:
                bound[-1] = view.text[view.field_start(count - 1) :]
            return dict(zip(self._before_keys, bound, strict=True))
        head, tail = len(self.before), len(self.after)
        extracted = dict(zip(self._before_keys, values, strict=False))
        for position in range(head + 1, total - tail + 1):  # the fields "..." covers
            extracted[f"${position}"] = values[position - 1]
        after = _keys(self.after, total - tail + 1)
        extracted.update(zip(after, values[total - tail :], strict=True))
        return extracted


def _keys(entries: tuple[Entry, ...], first: int) -> list[str]:
    """Extracted-value names: ``$name``, or ``$<position>`` for an unnamed entry."""
    return [
        f"${entry.name}" if entry.name else f"${position}"
        for position, entry in enumerate(entries, first)
    ]


# -- conditions on one field --------------------------------------------------------------


def _comparison_needs(operator_text: str, value: Literal) -> Needs:
    """``= text`` (wildcards or not) needs its text, ``= %regex%`` its fixed runs.

    Numbers have many spellings (``404``, ``404.0``, ``+404``) and ``!=`` holds
    for what is absent, so they need nothing.
    """
    if operator_text != "=":
        return NOTHING
    if isinstance(value, StringLiteral):
        return _string_needs(value)
    if isinstance(value, RegexLiteral):
        return regex_needs(value.text)
    return NOTHING


# What may stand just before a field's value: a blank, the value's own opening quote or
# bracket, or the closing one of a field right before it ("a"b); the message's start too.
_BEFORE_VALUE = (" ", "\t", '"', "[", "]")
# ... and just after it: a blank, its closing quote or bracket; the message's end too.
_AFTER_VALUE = (" ", "\t", '"', "]")


def _string_needs(value: StringLiteral) -> Needs:
    """A value equal to, starting with or ending with a text holds it at a field's edge.

    ``status = 4*`` needs not just a ``4`` somewhere, which nearly every line has,
    but a ``4`` that starts a field. (A last entry taking the raw remainder starts
    where its field starts, so the same edges hold for it.)
    """
    core = value.core
    if not core:
        return NOTHING
    if value.leading and value.trailing:
        return literal(core)
    if value.leading:  # the value ends with core
        edges = [Atom(core + after) for after in _AFTER_VALUE]
        return (frozenset([*edges, Atom(core, "text-end")]),)
    edges = [Atom(before + core) for before in _BEFORE_VALUE]
    return (frozenset([*edges, Atom(core, "text-start")]),)


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

    def parse(self) -> tuple[Condition, Needs]:
        disjuncts = [self.conjunction()]
        while self.tokens[self.index].kind is Kind.OR:
            self.next()
            disjuncts.append(self.conjunction())
        leftover = self.tokens[self.index]
        if leftover.kind is not Kind.END:
            raise unexpected(leftover, self.pattern)
        if len(disjuncts) == 1:
            return disjuncts[0]
        return _any([c for c, _ in disjuncts]), any_of(*(needs for _, needs in disjuncts))

    def conjunction(self) -> tuple[Condition, Needs]:
        conjuncts = [self.comparison()]
        while self.tokens[self.index].kind is Kind.AND:
            self.next()
            conjuncts.append(self.comparison())
        if len(conjuncts) == 1:
            return conjuncts[0]
        return _all([c for c, _ in conjuncts]), all_of(*(needs for _, needs in conjuncts))

    def comparison(self) -> tuple[Condition, Needs]:
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
        value = read_literal(
            self.next(), operator_token.text, self.pattern, self.regexes, json_mode=False
        )
        return _comparison(operator_token.text, value), _comparison_needs(
            operator_token.text, value
        )


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
            condition, needs = parser.parse()
            assert parser.name is not None
            entry = Entry(parser.name.text, condition, needs)
        if entry.name in seen:
            raise PatternError(f"Duplicate field '{entry.name}'", first.position, pattern)
        seen.add(entry.name or "")
        entries.append(entry)
    if ellipsis_at is None:
        return DelimitedPattern(pattern, tuple(entries), (), False)
    return DelimitedPattern(
        pattern, tuple(entries[:ellipsis_at]), tuple(entries[ellipsis_at:]), True
    )
