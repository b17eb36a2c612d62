"""JSON patterns: ``{ $.a = 1 && ($.b IS NULL || $.c[*] != "x") }``.

Grammar (precedence ``()`` > ``&&`` > ``||``)::

    expr  := conj ( '||' conj )*
    conj  := atom ( '&&' atom )*
    atom  := '(' expr ')' | SELECTOR op value | SELECTOR IS (NULL|TRUE|FALSE) | SELECTOR NOT EXISTS

The value semantics follow what AWS answers (see the reference notes): ``=``
holds for any candidate of a wildcard selector; ``!=`` needs a comparable value
(string or number), and with a wildcard needs the path before the wildcard to
exist and no candidate to be equal; ordering compares finite JSON numbers only.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern
from pipeline.patterns.lexer import INVALID_PATTERN, Kind, Token, tokenize
from pipeline.patterns.literals import RegexBudget, read_literal, unexpected
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.needs import NOTHING, Needs, all_of, any_of, literal
from pipeline.patterns.regex import required_texts
from pipeline.patterns.selectors import MISSING, Selector, parse_selector
from pipeline.patterns.values import (
    Literal,
    NumberLiteral,
    RegexLiteral,
    StringLiteral,
    is_finite_number,
    is_json_number,
)

__all__ = ["MAX_WILDCARD_SELECTORS", "JsonPattern", "parse_json_pattern"]

MAX_WILDCARD_SELECTORS = 3
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}

Node = Callable[[dict[str, Any]], bool]


class JsonPattern(FilterPattern):
    __slots__ = ("root", "selectors")
    kind = "json"
    supports_dimensions = True

    def __init__(
        self, text: str, root: Node, selectors: tuple[Selector, ...], needs: Needs = NOTHING
    ) -> None:
        super().__init__(text, needs)
        self.root = root
        self.selectors = selectors

    def matches(self, message: str | ParsedMessage) -> bool:
        view = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
        document = view.json_object
        return document is not None and self.root(document)


# -- conditions: each is a closure over its selector and literal ------------------------


def _getter(selector: Selector) -> Callable[[dict[str, Any]], Any]:
    """A wildcard-free selector's value (or MISSING); one dict lookup for ``$.key``."""
    steps = selector.prefix
    if len(steps) == 1 and isinstance(steps[0], str):
        key = steps[0]
        return lambda document: document.get(key, MISSING)  # the root is always an object
    return selector.resolve


def _equals(selector: Selector, literal: Literal) -> Node:
    equals = literal.equals_json
    if isinstance(literal, StringLiteral) and literal.leading and not literal.core:
        equals = _string_or_number  # "= *", the usual "exists": any string, any number's text
    if not selector.has_wildcard:
        resolve = _getter(selector)
        return lambda document: (value := resolve(document)) is not MISSING and equals(value)
    candidates = selector.candidates
    return lambda document: any(equals(value) for value in candidates(document)[1])


def _string_or_number(value: Any) -> bool:
    return type(value) is str or type(value) is int or type(value) is float


def _not_equals(selector: Selector, literal: Literal) -> Node:
    equals = literal.equals_json
    numeric = isinstance(literal, NumberLiteral)

    def comparable_and_different(value: Any) -> bool:
        if type(value) is str:
            return not equals(value)
        if is_json_number(value):
            # An overflowed number is no number to a numeric "!=", but text to a string one.
            return not (numeric and not is_finite_number(value)) and not equals(value)
        return False

    if not selector.has_wildcard:
        resolve = _getter(selector)
        return lambda document: comparable_and_different(resolve(document))

    def none_equal(document: dict[str, Any]) -> bool:
        prefix_exists, values = selector.candidates(document)
        return prefix_exists and not any(equals(value) for value in values)

    return none_equal


def _ordering(selector: Selector, operator_text: str, literal: NumberLiteral) -> Node:
    compare = _COMPARE[operator_text]
    bound = literal.value

    def holds(value: Any) -> bool:
        return is_json_number(value) and is_finite_number(value) and compare(value, bound)

    return _any_candidate(selector, holds)


def _any_candidate(selector: Selector, predicate: Callable[[Any], bool]) -> Node:
    """Some value the selector yields satisfies ``predicate``, which is false for MISSING."""
    if not selector.has_wildcard:
        resolve = _getter(selector)
        return lambda document: predicate(resolve(document))
    candidates = selector.candidates
    return lambda document: any(predicate(value) for value in candidates(document)[1])


def _is_null(value: Any) -> bool:
    # AWS also answers true for an array holding null directly ([null, 2]).
    return value is None or (type(value) is list and any(item is None for item in value))


def _not_exists(selector: Selector) -> Node:
    if not selector.has_wildcard:
        resolve = _getter(selector)
        return lambda document: resolve(document) is MISSING
    candidates = selector.candidates
    return lambda document: not candidates(document)[1]


def _all(nodes: list[Node]) -> Node:
    return lambda document: all(node(document) for node in nodes)


def _any(nodes: list[Node]) -> Node:
    return lambda document: any(node(document) for node in nodes)


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, pattern: str, tokens: list[Token]) -> None:
        self.pattern = pattern
        self.tokens = tokens
        self.index = 0
        self.regexes = RegexBudget()
        self.selectors: list[Selector] = []

    def next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind is not Kind.END:
            self.index += 1
        return token

    def peek(self) -> Token:
        return self.tokens[self.index]

    # Each production returns its condition and what a message needs for it to hold.

    def expression(self) -> tuple[Node, Needs]:
        nodes = [self.conjunction()]
        while self.peek().kind is Kind.OR:
            self.next()
            nodes.append(self.conjunction())
        if len(nodes) == 1:
            return nodes[0]
        return _any([node for node, _ in nodes]), any_of(*(needs for _, needs in nodes))

    def conjunction(self) -> tuple[Node, Needs]:
        nodes = [self.atom()]
        while self.peek().kind is Kind.AND:
            self.next()
            nodes.append(self.atom())
        if len(nodes) == 1:
            return nodes[0]
        return _all([node for node, _ in nodes]), all_of(*(needs for _, needs in nodes))

    def atom(self) -> tuple[Node, Needs]:
        token = self.next()
        if token.kind is Kind.LPAREN:
            node = self.expression()
            closing = self.next()
            if closing.kind is not Kind.RPAREN:
                raise unexpected(closing, self.pattern)
            return node
        if token.kind is Kind.WORD and token.text.startswith("$"):
            selector = parse_selector(token.text, token.position, self.pattern)
            self.selectors.append(selector)
            return self.condition(selector)
        raise unexpected(token, self.pattern)

    def condition(self, selector: Selector) -> tuple[Node, Needs]:
        token = self.next()
        word = token.text.upper() if token.kind is Kind.WORD else ""
        # Every condition but NOT EXISTS (and a wildcard "!=", which needs only the
        # path before the wildcard) holds only for a value found at the whole path.
        path = _key_needs(selector.prefix + selector.suffix)
        if token.kind is Kind.OP:
            literal = read_literal(
                self.next(), token.text, self.pattern, self.regexes, json_mode=True
            )
            if token.text == "=":
                return _equals(selector, literal), all_of(path, _value_needs(literal))
            if token.text == "!=":
                if selector.has_wildcard:
                    path = _key_needs(selector.prefix)
                return _not_equals(selector, literal), path
            assert isinstance(literal, NumberLiteral)  # read_literal enforces it for ORDERING
            return _ordering(selector, token.text, literal), path
        if word == "IS":
            return self.postfix_is(selector), path
        if word == "NOT":
            exists = self.next()
            if exists.kind is Kind.WORD and exists.text.upper() == "EXISTS":
                return _not_exists(selector), NOTHING
            raise unexpected(exists, self.pattern)
        raise unexpected(token, self.pattern)

    def postfix_is(self, selector: Selector) -> Node:
        token = self.next()
        word = token.text.upper() if token.kind is Kind.WORD else ""
        if word == "NULL":
            return _any_candidate(selector, _is_null)
        if word in ("TRUE", "FALSE"):
            wanted = word == "TRUE"
            return _any_candidate(selector, lambda value: value is wanted)
        raise unexpected(token, self.pattern)


def parse_json_pattern(pattern: str, start: int, end: int) -> JsonPattern:
    """Parse ``pattern[start:end]``, which starts with ``{`` and ends with ``}``."""
    tokens = tokenize(pattern, start + 1, end - 1, json_mode=True)
    parser = _Parser(pattern, tokens)
    if tokens[0].kind is Kind.END:
        raise PatternError(INVALID_PATTERN, start, pattern)
    root, needs = parser.expression()
    leftover = parser.peek()
    if leftover.kind is not Kind.END:
        raise unexpected(leftover, pattern)
    wildcards = [s for s in parser.selectors if s.has_wildcard]
    if len(wildcards) > MAX_WILDCARD_SELECTORS:
        raise PatternError(
            f"Your filter pattern has exceeded the maximum of {MAX_WILDCARD_SELECTORS} "
            "JSON path selectors with wildcards.",
            start,
            pattern,
        )
    # Only a JSON object matches, and its text holds a brace wherever it starts.
    needs = all_of(needs, literal("{", "json-structure"))
    return JsonPattern(pattern, root, tuple(parser.selectors), needs)


# -- needs: the raw texts a message must hold (pipeline.patterns.needs) -----------------

# A string literal is compared with a JSON number through the number's canonical text
# (1000.0, 1.0E7, -Infinity), which the message may spell otherwise (1e3, 1e400); a literal
# that could be such a text, or (with wildcards) a part of one, needs no text of its own.
_NUMBER_TEXT = frozenset("0123456789-.E" + "Infinity" + "NaN")  # every character one holds
_CANONICAL_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?(?:E-?[0-9]+)?|Infinity)|NaN")


def _spelled_verbatim(text: str) -> bool:
    """Whether JSON writes ``text`` as its own characters (given no \\u or \\/ escapes)."""
    return '"' not in text and "\\" not in text and all(char >= " " for char in text)


def _key_needs(steps: tuple[str | int, ...]) -> Needs:
    """Each key a path walks through occurs quoted in the message."""
    return all_of(
        *(
            literal(f'"{step}"', "json-key")
            for step in steps
            if isinstance(step, str) and _spelled_verbatim(step)
        )
    )


def _value_needs(literal_value: Literal) -> Needs:
    """An ``=`` string literal occurs in the message with the quotes its wildcards leave."""
    if isinstance(literal_value, RegexLiteral):
        return _regex_value_needs(literal_value.text)
    if not isinstance(literal_value, StringLiteral):
        return NOTHING  # numbers have many spellings (1, 1.0, 1e0)
    core = literal_value.core
    wildcard = literal_value.leading or literal_value.trailing
    if wildcard and _NUMBER_TEXT.issuperset(core):
        return NOTHING
    if not wildcard and _CANONICAL_NUMBER.fullmatch(core):
        return NOTHING
    if not core or not _spelled_verbatim(core):
        return NOTHING
    opening = "" if literal_value.leading else '"'
    closing = "" if literal_value.trailing else '"'
    return literal(f"{opening}{core}{closing}", "json-value")


def _regex_value_needs(body: str) -> Needs:
    """A regex value searches a string, or a number's canonical text.

    An alternative whose runs hold a character no number's text has can only
    match a string, whose characters the message holds; any other alternative
    might match a number spelled otherwise, so it needs nothing.
    """
    branches = required_texts(body)
    if branches is None:
        return NOTHING
    return any_of(
        *(
            all_of(*(literal(run, "json-value") for run in runs if _spelled_verbatim(run)))
            if any(not _NUMBER_TEXT.issuperset(run) for run in runs)
            else NOTHING
            for runs in branches
        )
    )
