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

import math
import operator
from collections.abc import Callable
from typing import Any

from pipeline.errors import PatternError
from pipeline.patterns.base import FilterPattern, as_parsed
from pipeline.patterns.lexer import INVALID_PATTERN, Kind, Token, tokenize
from pipeline.patterns.literals import RegexBudget, read_literal, unexpected
from pipeline.patterns.message import ParsedMessage
from pipeline.patterns.selectors import MISSING, Selector, parse_selector
from pipeline.patterns.values import Literal, NumberLiteral, is_json_number

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

    def __init__(self, text: str, root: Node, selectors: tuple[Selector, ...]) -> None:
        super().__init__(text)
        self.root = root
        self.selectors = selectors

    def matches(self, message: str | ParsedMessage) -> bool:
        view = as_parsed(message)
        document = view.json_object
        return document is not None and self.root(document)


# -- conditions: each is a closure over its selector and literal ------------------------


def _equals(selector: Selector, literal: Literal) -> Node:
    equals = literal.equals_json
    if not selector.has_wildcard:
        resolve = selector.resolve
        return lambda document: _present_and(resolve(document), equals)
    candidates = selector.candidates
    return lambda document: any(equals(value) for value in candidates(document)[1])


def _present_and(value: Any, predicate: Callable[[Any], bool]) -> bool:
    return value is not MISSING and predicate(value)


def _not_equals(selector: Selector, literal: Literal) -> Node:
    equals = literal.equals_json
    numeric = isinstance(literal, NumberLiteral)

    def comparable_and_different(value: Any) -> bool:
        if type(value) is str:
            return not equals(value)
        if is_json_number(value):
            # An overflowed number is no number to a numeric "!=", but text to a string one.
            return not (numeric and not math.isfinite(value)) and not equals(value)
        return False

    if not selector.has_wildcard:
        resolve = selector.resolve
        return lambda document: comparable_and_different(resolve(document))

    def none_equal(document: dict[str, Any]) -> bool:
        prefix_exists, values = selector.candidates(document)
        return prefix_exists and not any(equals(value) for value in values)

    return none_equal


def _ordering(selector: Selector, operator_text: str, literal: NumberLiteral) -> Node:
    compare = _COMPARE[operator_text]
    bound = literal.value

    def holds(value: Any) -> bool:
        return is_json_number(value) and math.isfinite(value) and compare(value, bound)

    return _any_candidate(selector, holds)


def _any_candidate(selector: Selector, predicate: Callable[[Any], bool]) -> Node:
    candidates = selector.candidates
    return lambda document: any(predicate(value) for value in candidates(document)[1])


def _is_null(value: Any) -> bool:
    # AWS also answers true for an array holding null directly ([null, 2]).
    return value is None or (type(value) is list and any(item is None for item in value))


def _not_exists(selector: Selector) -> Node:
    if not selector.has_wildcard:
        resolve = selector.resolve
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

    def expression(self) -> Node:
        nodes = [self.conjunction()]
        while self.peek().kind is Kind.OR:
            self.next()
            nodes.append(self.conjunction())
        return nodes[0] if len(nodes) == 1 else _any(nodes)

    def conjunction(self) -> Node:
        nodes = [self.atom()]
        while self.peek().kind is Kind.AND:
            self.next()
            nodes.append(self.atom())
        return nodes[0] if len(nodes) == 1 else _all(nodes)

    def atom(self) -> Node:
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

    def condition(self, selector: Selector) -> Node:
        token = self.next()
        word = token.text.upper() if token.kind is Kind.WORD else ""
        if token.kind is Kind.OP:
            literal = read_literal(
                self.next(), token.text, self.pattern, self.regexes, json_mode=True
            )
            if token.text == "=":
                return _equals(selector, literal)
            if token.text == "!=":
                return _not_equals(selector, literal)
            assert isinstance(literal, NumberLiteral)  # read_literal enforces it for ORDERING
            return _ordering(selector, token.text, literal)
        if word == "IS":
            return self.postfix_is(selector)
        if word == "NOT":
            exists = self.next()
            if exists.kind is Kind.WORD and exists.text.upper() == "EXISTS":
                return _not_exists(selector)
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
    root = parser.expression()
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
    return JsonPattern(pattern, root, tuple(parser.selectors))
