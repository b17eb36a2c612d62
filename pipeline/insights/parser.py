"""Logs Insights query text -> :class:`~pipeline.insights.syntax.Query`, by recursive descent.

Keywords are case-insensitive. An invalid query raises ``InsightsError`` with
the offset of the token at fault and what was expected there, so the CLI and
the API can print a caret under it.
"""

from __future__ import annotations

import re

from pipeline.errors import InsightsError
from pipeline.insights.functions import check_call, period_ms
from pipeline.insights.lexer import Token, tokenize
from pipeline.insights.syntax import (
    AGGREGATES,
    Access,
    Binary,
    Call,
    Command,
    Dedup,
    Display,
    Duration,
    Expr,
    Field,
    Fields,
    Filter,
    In,
    Item,
    Like,
    Limit,
    ListExpr,
    Literal,
    Parse,
    Query,
    Regex,
    Sort,
    SortKey,
    Source,
    Stats,
    Unary,
    Unnest,
)

__all__ = ["COMMANDS", "MAX_LIMIT", "parse_query"]

COMMANDS = ("fields", "display", "filter", "stats", "sort", "limit", "parse", "dedup", "unnest")
MAX_LIMIT = 10_000
_COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z_][A-Za-z0-9_.@]*)>")
_KEYWORD_ENDS = ("as", "by", "asc", "desc", "into", "and", "or", "like", "in", "not")


def parse_query(text: str) -> Query:
    """The parsed query; ``InsightsError`` (with the position) for anything invalid."""
    return _Parser(text).query()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.at = 0
        self.in_stats = False

    # -- tokens ------------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.at + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.at]
        self.at = min(self.at + 1, len(self.tokens) - 1)
        return token

    def error(self, expected: str, token: Token | None = None) -> InsightsError:
        token = token or self.token
        found = "the end of the query" if token.kind == "end" else repr(token.text)
        return InsightsError(f"expected {expected}, found {found}", token.position, self.text)

    def accept_punct(self, char: str) -> bool:
        if self.token.kind == "punct" and self.token.text == char:
            self.advance()
            return True
        return False

    def expect_punct(self, char: str, expected: str | None = None) -> Token:
        if self.token.kind != "punct" or self.token.text != char:
            raise self.error(expected or f"'{char}'")
        return self.advance()

    def accept_word(self, *words: str) -> str | None:
        if self.token.is_word(*words):
            return self.advance().text.lower()
        return None

    def name(self, what: str = "a field name") -> str:
        token = self.token
        if token.kind == "quoted" or (token.kind == "name" and not token.text[0].isdigit()):
            self.advance()
            return token.text
        raise self.error(what)

    def source_text(self, start: int, end_token: int) -> str:
        """The query text of tokens [start, end_token), whitespace normalised."""
        first = self.tokens[start].position
        last = self.tokens[end_token - 1]
        end = self._token_end(last)
        return " ".join(self.text[first:end].split())

    def _token_end(self, token: Token) -> int:
        if token.kind == "string":
            quote = self.text[token.position]
            i = token.position + 1
            while i < len(self.text):
                if self.text[i] == "\\":
                    i += 2
                    continue
                if self.text[i] == quote:
                    if i + 1 < len(self.text) and self.text[i + 1] == quote:
                        i += 2
                        continue
                    return i + 1
                i += 1
            return len(self.text)
        if token.kind == "regex":
            return token.position + len(token.text) + 2
        if token.kind == "quoted":
            return token.position + len(token.text) + 2
        return token.position + len(token.text)

    # -- query and commands ------------------------------------------------------------------

    def query(self) -> Query:
        source = None
        if self.token.is_word("source"):
            source = self.source()
            if self.token.kind != "end":
                self.expect_punct("|", "'|' after SOURCE")
        commands: list[Command] = []
        positions: list[int] = []
        if self.token.kind == "end" and source is not None:
            return Query(self.text, (), source)
        while True:
            positions.append(self.token.position)
            commands.append(self.command())
            if self.token.kind == "end":
                break
            self.expect_punct("|", "'|' between commands")
        self._check_order(commands, positions)
        return Query(self.text, tuple(commands), source)

    def _check_order(self, commands: list[Command], positions: list[int]) -> None:
        """The rules of the documentation's notes: only limit after dedup; at most two stats,
        sort and limit only after the second, which sees only the first's fields."""
        for index, command in enumerate(commands):
            if isinstance(command, Dedup):
                for later, where in zip(commands[index + 1 :], positions[index + 1 :], strict=True):
                    if not isinstance(later, Limit):
                        raise InsightsError("expected only limit after dedup", where, self.text)
        stats = [i for i, command in enumerate(commands) if isinstance(command, Stats)]
        if len(stats) > 2:
            raise InsightsError(
                "expected at most two stats commands", positions[stats[2]], self.text
            )
        if len(stats) == 2:
            first, second = stats
            for index in range(first + 1, second):
                if isinstance(commands[index], Sort | Limit):
                    raise InsightsError(
                        "expected sort and limit only after the second stats",
                        positions[index],
                        self.text,
                    )
            self._check_second_stats(commands[first], commands[second], positions[second])

    def _check_second_stats(self, first: Command, second: Command, where: int) -> None:
        assert isinstance(first, Stats) and isinstance(second, Stats)
        defined = {item.name for item in (*first.by, *first.items)}
        defined |= {item.alias for item in second.items if item.alias}
        for item in (*second.items, *second.by):
            names: list[str] = []
            _fields(item.expr, names)
            for name in names:
                if name not in defined:
                    position = self.text.find(name, where)
                    raise InsightsError(
                        f"expected a field defined by the first stats, found {name!r}",
                        position if position >= 0 else where,
                        self.text,
                    )
            if _uses_bin(item.expr) and not any(_uses_bin(by.expr) for by in first.by):
                position = self.text.find("bin", where)
                raise InsightsError(
                    "expected the first stats to group by bin() before bin() in the second",
                    position if position >= 0 else where,
                    self.text,
                )

    def command(self) -> Command:
        token = self.token
        word = self.accept_word(*COMMANDS, "where")
        if word is None:
            raise self.error("a command (" + ", ".join(COMMANDS) + ")")
        if word == "fields":
            return Fields(self.items("a field or an expression"))
        if word == "display":
            return Display(self.items("a field to display"))
        if word in ("filter", "where"):
            return Filter(self.expression())
        if word == "stats":
            return self.stats()
        if word == "sort":
            return self.sort()
        if word == "limit":
            number = self.token
            if number.kind != "number" or not isinstance(number.value, int) or number.value < 1:
                raise self.error("a positive whole number of rows")
            self.advance()
            if number.value > MAX_LIMIT:
                raise InsightsError(
                    f"expected a limit of at most {MAX_LIMIT}", number.position, self.text
                )
            return Limit(number.value)
        if word == "parse":
            return self.parse_command()
        if word == "dedup":
            return Dedup(self.items("a field to dedup by"))
        if word == "unnest":
            field = self.expression()
            if not self.accept_word("into"):
                raise self.error("'into' and a field name")
            return Unnest(field, self.name())
        raise self.error("a command", token)  # pragma: no cover - every word is handled

    def items(self, what: str) -> tuple[Item, ...]:
        items = [self.item(what)]
        while self.accept_punct(","):
            items.append(self.item(what))
        return tuple(items)

    def item(self, what: str) -> Item:
        start = self.at
        if self.token.kind in ("end",) or (self.token.kind == "punct" and self.token.text in "|,"):
            raise self.error(what)
        expr = self.expression()
        text = self.source_text(start, self.at)
        if self.at == start + 1 and self.tokens[start].kind == "quoted":
            text = self.tokens[start].text  # `foo-bar` is the field foo-bar
        alias = None
        if self.accept_word("as"):
            alias = self.name("a name after 'as'")
        return Item(expr, text, alias)

    def stats(self) -> Stats:
        self.in_stats = True
        try:
            items = self.items("an aggregation such as count(*)")
        finally:
            self.in_stats = False
        for item in items:
            if not _has_aggregate(item.expr) and not _refers_to_alias(item.expr, items):
                raise InsightsError(
                    "expected an aggregation function (count, sum, avg, min, max, pct, ...)",
                    self._position_of(item),
                    self.text,
                )
        by: tuple[Item, ...] = ()
        if self.accept_word("by"):
            by = self.items("a field or bin(period) to group by")
        return Stats(items, by)

    def _duration_position(self, text: str, after: int) -> int:
        found = self.text.find(text, after)
        return found if found >= 0 else after

    def _position_of(self, item: Item) -> int:
        found = self.text.find(item.text.split(" ")[0])
        return max(0, found)

    def sort(self) -> Sort:
        self.accept_word("by")
        keys = []
        while True:
            start = self.at
            if self.token.kind == "end" or (self.token.kind == "punct" and self.token.text == "|"):
                raise self.error("a field to sort by")
            expr = self.expression()
            text = self.source_text(start, self.at)
            descending = self.accept_word("asc", "desc") == "desc"
            keys.append(SortKey(expr, text, descending))
            if not self.accept_punct(","):
                break
        return Sort(tuple(keys))

    def parse_command(self) -> Parse:
        if self.token.kind in ("string", "regex"):  # the source defaults to @message
            source: Expr = Field("@message")
        else:
            source = self.primary()
        pattern = self.token
        if pattern.kind not in ("string", "regex"):
            raise self.error("a glob pattern in quotes or a /regular expression/")
        self.advance()
        names: list[str] = []
        if self.accept_word("as"):
            names.append(self.name())
            while self.accept_punct(","):
                names.append(self.name())
        if pattern.kind == "regex":
            groups = _NAMED_GROUP.findall(pattern.text)
            if names:
                raise InsightsError(
                    "expected no 'as' after a regular expression: its named groups name the fields",
                    pattern.position,
                    self.text,
                )
            if not groups:
                raise InsightsError(
                    "expected named groups (?<name>...) in the regular expression",
                    pattern.position,
                    self.text,
                )
            _check_regex(pattern, self.text)
            return Parse(source, pattern.text, True, tuple(groups))
        stars = pattern.text.count("*")
        if stars == 0:
            raise InsightsError("expected at least one * in the glob", pattern.position, self.text)
        if len(names) != stars:
            raise InsightsError(
                f"expected {stars} field name(s) after 'as', one per *, found {len(names)}",
                pattern.position,
                self.text,
            )
        return Parse(source, pattern.text, False, tuple(names))

    def source(self) -> Source:
        self.advance()  # SOURCE
        token = self.token
        if not token.is_word("loggroups"):
            raise self.error("logGroups(namePrefix: [...])")
        self.advance()
        self.expect_punct("(")
        prefixes: list[str] = []
        while not self.accept_punct(")"):
            key = self.name("namePrefix, accountIdentifiers or class")
            self.expect_punct(":")
            values = self.list_literal()
            if key.lower() == "nameprefix":
                prefixes += values
            self.accept_punct(",")
        if not prefixes:
            raise self.error("namePrefix: [...] in logGroups()", token)
        return Source(tuple(prefixes))

    def list_literal(self) -> list[str]:
        self.expect_punct("[")
        values: list[str] = []
        while not self.accept_punct("]"):
            if self.token.kind != "string":
                raise self.error("a quoted string")
            values.append(self.advance().text)
            if not self.accept_punct(","):
                self.expect_punct("]")
                break
        return values

    # -- expressions -------------------------------------------------------------------------

    def expression(self) -> Expr:
        return self.disjunction()

    def disjunction(self) -> Expr:
        left = self.conjunction()
        while self.accept_word("or"):
            left = Binary("or", left, self.conjunction())
        return left

    def conjunction(self) -> Expr:
        left = self.negation()
        while self.accept_word("and"):
            left = Binary("and", left, self.negation())
        return left

    def negation(self) -> Expr:
        if self.accept_word("not"):
            return Unary("not", self.negation())
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.additive()
        token = self.token
        if token.kind == "op" and token.text in _COMPARISONS:
            self.advance()
            return Binary(token.text, left, self.additive())
        if token.kind == "op" and token.text == "=~":
            self.advance()
            return Like(left, self.pattern(), False)
        if token.is_word("like"):
            self.advance()
            return Like(left, self.pattern(), False)
        if token.is_word("in"):
            self.advance()
            return In(left, self.list_expr(), False)
        if token.is_word("not") and self.peek().is_word("like", "in"):
            self.advance()
            if self.accept_word("like"):
                return Like(left, self.pattern(), True)
            self.advance()
            return In(left, self.list_expr(), True)
        return left

    def pattern(self) -> Expr:
        token = self.token
        if token.kind == "regex":
            self.advance()
            _check_regex(token, self.text)
            return Regex(token.text)
        if token.kind == "string":
            self.advance()
            return Literal(token.text)
        raise self.error("a quoted string or a /regular expression/")

    def list_expr(self) -> ListExpr:
        if not (self.token.kind == "punct" and self.token.text == "["):
            raise self.error("a list in [...]")
        self.advance()
        items: list[Expr] = []
        if self.accept_punct("]"):
            return ListExpr(())
        while True:
            items.append(self.additive())
            if self.accept_punct("]"):
                return ListExpr(tuple(items))
            self.expect_punct(",", "',' or ']'")

    def additive(self) -> Expr:
        left = self.multiplicative()
        while self.token.kind == "op" and self.token.text in ("+", "-"):
            op = self.advance().text
            left = Binary(op, left, self.multiplicative())
        return left

    def multiplicative(self) -> Expr:
        left = self.power()
        while self.token.kind == "op" and self.token.text in ("*", "/", "%"):
            op = self.advance().text
            left = Binary(op, left, self.power())
        return left

    def power(self) -> Expr:
        base = self.unary()
        if self.token.kind == "op" and self.token.text == "^":
            self.advance()
            return Binary("^", base, self.power())  # right associative
        return base

    def unary(self) -> Expr:
        if self.token.kind == "op" and self.token.text == "-":
            self.advance()
            operand = self.unary()
            if isinstance(operand, Literal) and isinstance(operand.value, int | float):
                return Literal(-operand.value)
            return Unary("-", operand)
        return self.primary()

    def primary(self) -> Expr:
        token = self.token
        if token.kind == "number":
            self.advance()
            assert token.value is not None
            return Literal(token.value)
        if token.kind == "string":
            self.advance()
            return Literal(token.text)
        if token.kind == "regex":
            self.advance()
            _check_regex(token, self.text)
            return Regex(token.text)
        if token.kind == "quoted":
            self.advance()
            return self.access(Field(token.text))
        if token.kind == "punct" and token.text == "(":
            self.advance()
            inner = self.expression()
            self.expect_punct(")", "')'")
            return inner
        if token.kind == "punct" and token.text == "[":
            return self.list_expr()
        if token.kind == "name":
            if token.text[0].isdigit():
                self.advance()
                return Duration(token.text)
            if self.peek().kind == "punct" and self.peek().text == "(":
                return self.access(self.call())
            if token.text.lower() in _KEYWORD_ENDS:
                raise self.error("a field, a value or a function")
            lowered = token.text.lower()
            self.advance()
            if lowered == "true":
                return Literal(True)
            if lowered == "false":
                return Literal(False)
            if lowered == "null":
                return Literal(None)
            return self.access(Field(token.text))
        raise self.error("a field, a value or a function")

    def access(self, base: Expr) -> Expr:
        """``[index]`` and ``.key`` after a field or a call: into a parsed JSON value."""
        while self.token.kind == "punct" and self.token.text in "[.":
            if self.advance().text == "[":
                index = self.token
                if index.kind == "number" and isinstance(index.value, int):
                    key: str | int = index.value
                elif index.kind == "string":
                    key = index.text
                else:
                    raise self.error("an index (a whole number) or a quoted key")
                self.advance()
                self.expect_punct("]", "']'")
                base = Access(base, key)
                continue
            part = self.token
            if part.kind not in ("name", "quoted"):
                raise self.error("a key after '.'")
            self.advance()
            if part.kind == "quoted":
                base = Access(base, part.text)
            else:
                for key_part in part.text.split("."):
                    base = Access(base, int(key_part) if key_part.isdigit() else key_part)
        return base

    def call(self) -> Call:
        name_token = self.advance()
        name = name_token.text.lower()
        if name in AGGREGATES and not self.in_stats:
            raise InsightsError(
                f"expected {name}() only in stats (it aggregates many events)",
                name_token.position,
                self.text,
            )
        self.advance()  # (
        if name == "count" and self.token.kind == "op" and self.token.text == "*":
            self.advance()
            self.expect_punct(")", "')'")
            return Call(name, (), True, name_token.position)
        args: list[Expr] = []
        if not self.accept_punct(")"):
            while True:
                args.append(self.expression())
                if self.accept_punct(")"):
                    break
                self.expect_punct(",", "',' or ')'")
        problem = check_call(name, len(args))
        if problem is not None:
            raise InsightsError(problem, name_token.position, self.text)
        period_arg = 0 if name == "bin" else 1 if name in ("datefloor", "dateceil") else None
        if period_arg is not None:
            period = args[period_arg]
            if isinstance(period, Duration) and period_ms(period.text) is None:
                raise InsightsError(
                    "expected a period such as 500ms, 30s, 5m, 1h, 1d, 1w, 1mo, 1q or 1y",
                    self._duration_position(period.text, name_token.position),
                    self.text,
                )
        return Call(name, tuple(args), False, name_token.position)


def _uses_bin(expr: Expr) -> bool:
    if isinstance(expr, Call):
        return expr.name == "bin" or any(_uses_bin(arg) for arg in expr.args)
    return False


def _has_aggregate(expr: Expr) -> bool:
    if isinstance(expr, Call):
        return expr.name in AGGREGATES or any(_has_aggregate(a) for a in expr.args)
    if isinstance(expr, Binary):
        return _has_aggregate(expr.left) or _has_aggregate(expr.right)
    if isinstance(expr, Unary):
        return _has_aggregate(expr.operand)
    return False


def _refers_to_alias(expr: Expr, items: tuple[Item, ...]) -> bool:
    """Arithmetic on aggregates by their aliases (``a - b as c``)."""
    aliases = {item.alias for item in items if item.alias}
    found: list[str] = []
    _fields(expr, found)
    return bool(found) and all(name in aliases for name in found)


def _fields(expr: Expr, out: list[str]) -> None:
    if isinstance(expr, Field):
        out.append(expr.name)
    elif isinstance(expr, Access):
        _fields(expr.base, out)
    elif isinstance(expr, Binary):
        _fields(expr.left, out)
        _fields(expr.right, out)
    elif isinstance(expr, Unary):
        _fields(expr.operand, out)
    elif isinstance(expr, Call):
        for arg in expr.args:
            _fields(arg, out)


def _check_regex(token: Token, text: str) -> None:
    from pipeline.insights.regexes import compile_regex  # RE2, as the evaluator runs it

    try:
        compile_regex(token.text)
    except ValueError as error:
        raise InsightsError(
            f"expected a valid regular expression ({error})", token.position, text
        ) from None
