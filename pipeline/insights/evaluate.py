"""The reference evaluator: a parsed query over documents as the pipeline indexes them.

Commands run in the order written, over rows that start as the events'
discovered fields in Insights' default order (``@timestamp`` descending).
A comparison with a missing value is unknown, not false, so ``not`` of it is
unknown too and ``filter`` drops the row (SQL's three-valued logic, which is
how Insights treats events that lack a field). The OpenSearch executor in
the shell hands this module what the store found, so the same query gives the
same rows either way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.errors import InsightsError
from pipeline.insights.discovered import Timestamp, discovered_fields
from pipeline.insights.functions import (
    FUNCTIONS,
    call_function,
    floor_time,
    period_ms,
    to_number,
    to_text,
    truthy,
)
from pipeline.insights.natural import natural_key
from pipeline.insights.parser import MAX_LIMIT, parse_query
from pipeline.insights.regexes import compile_regex, glob_regex
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
    Stats,
    Unary,
    Unnest,
)

__all__ = ["DEFAULT_COLUMNS", "Result", "Row", "evaluate", "run_commands", "run_query"]

Row = dict[str, Any]
DEFAULT_COLUMNS = ("@timestamp", "@message")


@dataclass(slots=True)
class Result:
    """Rows (column -> value, dict order = column order) and what was looked at."""

    rows: list[Row] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    matched: int = 0  # events left after the filters (before stats), as Insights counts them
    scanned: int = 0
    pointers: list[str | None] = field(default_factory=list)  # each row's @ptr, when it has one


def run_query(
    query: str,
    events: list[dict[str, Any]],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``query`` over ``events`` (documents as indexed), the time range inclusive."""
    return evaluate(parse_query(query), events, start_ms=start_ms, end_ms=end_ms).rows


def evaluate(
    query: Query,
    documents: Iterable[dict[str, Any]],
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    now_ms: int | None = None,
) -> Result:
    result = Result()
    rows: list[Row] = []
    prefixes = query.source.name_prefixes if query.source is not None else None
    for document in documents:
        result.scanned += 1
        if prefixes is not None:
            group = document.get("@log_group")
            if not isinstance(group, str) or not group.startswith(prefixes):
                continue
        row = discovered_fields(document)
        stamp = row.get("@timestamp")
        if stamp is not None:
            if start_ms is not None and stamp < start_ms:
                continue
            if end_ms is not None and stamp > end_ms:
                continue
        rows.append(row)
    # Insights' order without sort: newest first; equal times by event id, so the order never
    # depends on the order the store returned the documents in
    rows.sort(key=lambda r: (-(r.get("@timestamp") or 0), str(r.get("@ptr", ""))))
    return run_commands(
        query, query.commands, rows, result, now_ms=now_ms if now_ms is not None else end_ms
    )


def run_commands(
    query: Query,
    commands: Sequence[Command],
    rows: list[Row],
    result: Result,
    *,
    now_ms: int | None = None,
    columns: list[str] | None = None,
    aggregated: bool = False,
) -> Result:
    """``commands`` over ``rows``: the events' fields, or (``aggregated``) the rows of a stats
    the store already computed, named by ``columns``."""
    context = _Context(query.text, now_ms if now_ms is not None else int(time.time() * 1000))
    limit = MAX_LIMIT
    for command in commands:
        if isinstance(command, Filter):
            rows = [row for row in rows if _condition(command.condition, row, context) is True]
        elif isinstance(command, Fields):
            columns = _fields(command.items, rows, context, columns)
        elif isinstance(command, Display):
            _fields(command.items, rows, context, None)
            columns = [item.name for item in command.items]
        elif isinstance(command, Stats):
            if not aggregated:
                result.matched = len(rows)
            rows, columns = _stats(command, rows, context)
            aggregated = True
        elif isinstance(command, Sort):
            for key in reversed(command.keys):  # stable: the last key first
                values = [(_value(key.expr, row, context), row) for row in rows]
                present = [(natural_key(v), row) for v, row in values if v is not None]
                present.sort(key=lambda pair: pair[0], reverse=key.descending)
                rows = [row for _, row in present] + [row for v, row in values if v is None]
        elif isinstance(command, Limit):
            limit = min(limit, command.count)
            rows = rows[: command.count]
        elif isinstance(command, Parse):
            _parse(command, rows, context)
        elif isinstance(command, Dedup):
            rows = _dedup(command, rows, context)
        elif isinstance(command, Unnest):
            rows = _unnest(command, rows, context)
    if not aggregated:
        result.matched = len(rows)
    rows = rows[:limit]
    result.columns = list(columns) if columns is not None else list(DEFAULT_COLUMNS)
    for row in rows:
        out: Row = {}
        for column in result.columns:
            value = _lookup(row, column)
            if value is not None:
                out[column] = _render(value)
        result.rows.append(out)
        result.pointers.append(row.get("@ptr") if not aggregated else None)
    return result


@dataclass(slots=True)
class _Context:
    query: str
    now_ms: int


# -- commands ----------------------------------------------------------------------------------


def _fields(
    items: Sequence[Item], rows: list[Row], context: _Context, columns: list[str] | None
) -> list[str]:
    for item in items:
        if isinstance(item.expr, Field) and item.alias is None:
            continue  # a field shown as it is
        for row in rows:
            value = _value(item.expr, row, context)
            if value is None:
                row.pop(item.name, None)
            else:
                row[item.name] = value
    names = list(columns or [])
    for item in items:
        if item.name not in names:
            names.append(item.name)
    return names


def _stats(command: Stats, rows: list[Row], context: _Context) -> tuple[list[Row], list[str]]:
    groups: dict[tuple[Any, ...], list[Row]] = {}
    keys: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        values = [_value(item.expr, row, context) for item in command.by]
        key = tuple(_hashable(v) for v in values)
        if key not in groups:
            groups[key] = []
            keys[key] = values
        groups[key].append(row)
    if not command.by and not groups:
        groups[()] = []
        keys[()] = []
    out: list[Row] = []
    for key, members in groups.items():
        group: Row = {}
        for item, value in zip(command.by, keys[key], strict=True):
            if value is not None:
                group[item.name] = value
        for item in command.items:
            value = _aggregate_expr(item.expr, members, group, context)
            if value is not None:
                group[item.name] = value
        out.append(group)
    columns = [item.name for item in command.by] + [item.name for item in command.items]
    return out, columns


def _hashable(value: Any) -> Any:
    if isinstance(value, list | dict):
        return to_text(value)
    return value


def _parse(command: Parse, rows: list[Row], context: _Context) -> None:
    compiled = compile_regex(command.pattern) if command.is_regex else glob_regex(command.pattern)
    for row in rows:
        text = to_text(_value(command.source, row, context))
        found = compiled.search(text) if text is not None else None
        if found is None:
            for name in command.names:
                row.pop(name, None)
            continue
        if command.is_regex:
            captured = found.groupdict()
            for name in command.names:
                value = captured.get(name)
                if value is None:
                    row.pop(name, None)
                else:
                    row[name] = value
        else:
            for name, value in zip(command.names, found.groups(), strict=True):
                row[name] = value


def _dedup(command: Dedup, rows: list[Row], context: _Context) -> list[Row]:
    seen: set[tuple[Any, ...]] = set()
    kept = []
    for row in rows:
        values = [_value(item.expr, row, context) for item in command.fields]
        if any(value is None for value in values):
            kept.append(row)  # missing values are never deduplicated
            continue
        key = tuple(_hashable(v) for v in values)
        if key not in seen:
            seen.add(key)
            kept.append(row)
    return kept


def _unnest(command: Unnest, rows: list[Row], context: _Context) -> list[Row]:
    out = []
    for row in rows:
        value = _value(command.field, row, context)
        items = value if isinstance(value, list) else [value]
        for item in items:
            copy = dict(row)
            if item is None:
                copy.pop(command.into, None)
            else:
                copy[command.into] = item
            out.append(copy)
    return out


# -- expressions -------------------------------------------------------------------------------


def _lookup(row: Row, name: str) -> Any:
    if name in row:
        return row[name]
    if "." in name:  # a field of a parsed JSON value: js.level, items.0.id
        head, _, rest = name.partition(".")
        base = _lookup(row, head)
        while base is not None and rest:
            part, _, rest = rest.partition(".")
            if isinstance(base, dict):
                base = base.get(part)
            elif isinstance(base, list) and part.isdigit() and int(part) < len(base):
                base = base[int(part)]
            else:
                return None
        return base
    return None


def _value(expr: Expr, row: Row, context: _Context) -> Any:
    if isinstance(expr, Field):
        return _lookup(row, expr.name)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Binary):
        if expr.op in ("and", "or") or expr.op in ("=", "!=", "<", "<=", ">", ">="):
            return _condition(expr, row, context)
        return _arithmetic(
            expr.op, _value(expr.left, row, context), _value(expr.right, row, context)
        )
    if isinstance(expr, Unary):
        if expr.op == "not":
            return _condition(expr, row, context)
        number = to_number(_value(expr.operand, row, context))
        return None if number is None else -number
    if isinstance(expr, Like | In):
        return _condition(expr, row, context)
    if isinstance(expr, Call):
        return _call(expr, row, context)
    if isinstance(expr, Access):
        return _access(_value(expr.base, row, context), expr.key)
    if isinstance(expr, Duration):
        return expr.text
    if isinstance(expr, Regex):
        return expr.pattern
    if isinstance(expr, ListExpr):
        return [_value(item, row, context) for item in expr.items]
    raise AssertionError(f"unknown expression {expr!r}")  # pragma: no cover


def _access(base: Any, key: str | int) -> Any:
    if isinstance(base, dict):
        return base.get(str(key))
    if isinstance(base, list) and isinstance(key, int) and 0 <= key < len(base):
        return base[key]
    return None


def _call(expr: Call, row: Row, context: _Context) -> Any:
    if expr.name in AGGREGATES:
        raise InsightsError(f"expected {expr.name}() only in stats", expr.position, context.query)
    if expr.name == "bin":
        period = period_ms(_period_text(expr.args[0], row, context))
        stamp = row.get("@timestamp")
        if period is None:
            raise InsightsError(
                "expected a period such as 5m, 1h or 1d in bin()", expr.position, context.query
            )
        return None if stamp is None else Timestamp(floor_time(int(stamp), period))
    if expr.name == "now":
        return Timestamp(context.now_ms)
    args = [_value(arg, row, context) for arg in expr.args]
    if expr.name in ("datefloor", "dateceil") and len(expr.args) == 2:
        args[1] = _period_text(expr.args[1], row, context)
    return call_function(expr.name, args)


def _period_text(expr: Expr, row: Row, context: _Context) -> str:
    if isinstance(expr, Duration):
        return expr.text
    return to_text(_value(expr, row, context)) or ""


def _arithmetic(op: str, left: Any, right: Any) -> Any:
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        return None
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return math.fmod(a, b) if isinstance(a, float) or isinstance(b, float) else a % b
        if op == "^":
            result = a**b
            return None if isinstance(result, complex) else result
    except (ZeroDivisionError, OverflowError, ValueError):
        return None
    raise AssertionError(op)  # pragma: no cover


def _condition(expr: Expr, row: Row, context: _Context) -> bool | None:
    """True, False or None (unknown: a missing value took part)."""
    if isinstance(expr, Binary) and expr.op in ("and", "or"):
        left = _condition(expr.left, row, context)
        if expr.op == "and":
            if left is False:
                return False
            right = _condition(expr.right, row, context)
            if right is False:
                return False
            return None if left is None or right is None else True
        if left is True:
            return True
        right = _condition(expr.right, row, context)
        if right is True:
            return True
        return None if left is None or right is None else False
    if isinstance(expr, Unary) and expr.op == "not":
        inner = _condition(expr.operand, row, context)
        return None if inner is None else not inner
    if isinstance(expr, Binary) and expr.op in ("=", "!=", "<", "<=", ">", ">="):
        return _compare(expr.op, _value(expr.left, row, context), _value(expr.right, row, context))
    if isinstance(expr, Like):
        text = to_text(_value(expr.operand, row, context))
        if text is None:
            return None
        if isinstance(expr.pattern, Regex):
            found = compile_regex(expr.pattern.pattern).search(text) is not None
        else:
            needle = to_text(_value(expr.pattern, row, context))
            if needle is None:
                return None
            found = needle in text
        return not found if expr.negated else found
    if isinstance(expr, In):
        value = _value(expr.operand, row, context)
        if value is None:
            return None
        options = [_value(item, row, context) for item in expr.options.items]
        found = any(_compare("=", value, option) is True for option in options)
        return not found if expr.negated else found
    value = _value(expr, row, context)
    return None if value is None else truthy(value)


def _compare(op: str, left: Any, right: Any) -> bool | None:
    if left is None or right is None:
        return None
    a: Any
    b: Any
    if isinstance(left, bool) or isinstance(right, bool):
        a, b = truthy(left), truthy(right)
    else:
        na, nb = to_number(left), to_number(right)
        if na is not None and nb is not None:
            a, b = na, nb
        else:
            a, b = to_text(left), to_text(right)
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    try:
        if op == "<":
            return bool(a < b)
        if op == "<=":
            return bool(a <= b)
        if op == ">":
            return bool(a > b)
        return bool(a >= b)
    except TypeError:
        return None


# -- aggregation -------------------------------------------------------------------------------


def _aggregate_expr(expr: Expr, rows: list[Row], done: Row, context: _Context) -> Any:
    """An item of stats: aggregates over the group's rows, arithmetic over them and over the
    aliases computed before it in the same stats."""
    if isinstance(expr, Call) and expr.name in AGGREGATES:
        return _aggregate(expr, rows, context)
    if isinstance(expr, Field):
        return _lookup(done, expr.name)
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Binary) and expr.op not in ("and", "or", "=", "!=", "<", "<=", ">", ">="):
        return _arithmetic(
            expr.op,
            _aggregate_expr(expr.left, rows, done, context),
            _aggregate_expr(expr.right, rows, done, context),
        )
    if isinstance(expr, Unary) and expr.op == "-":
        number = to_number(_aggregate_expr(expr.operand, rows, done, context))
        return None if number is None else -number
    if isinstance(expr, Call) and expr.name in FUNCTIONS:
        args = [_aggregate_expr(arg, rows, done, context) for arg in expr.args]
        return call_function(expr.name, args)
    return _value(expr, done, context)


def _aggregate(call: Call, rows: list[Row], context: _Context) -> Any:
    name = call.name
    if name == "count":
        if call.star or not call.args:
            return len(rows)
        return sum(1 for row in rows if _value(call.args[0], row, context) is not None)
    values = [_value(call.args[0], row, context) for row in rows]
    present = [(v, row) for v, row in zip(values, rows, strict=True) if v is not None]
    if name == "count_distinct":
        return len({_hashable(v) for v, _ in present})
    if name in ("earliest", "latest"):
        timed = [(int(row["@timestamp"]), v) for v, row in present if "@timestamp" in row]
        if not timed:
            return None
        if name == "earliest":
            return min(timed, key=lambda pair: pair[0])[1]
        return max(timed, key=lambda pair: pair[0])[1]
    if name in ("sortsfirst", "sortslast"):
        if not present:
            return None
        ordered = sorted((v for v, _ in present), key=natural_key)
        return ordered[0] if name == "sortsfirst" else ordered[-1]
    if name in ("min", "max"):
        if not present:
            return None
        converted = [to_number(v) for v, _ in present]
        numeric = [n for n in converted if n is not None]
        if len(numeric) == len(converted):
            positions = range(len(numeric))
            if name == "min":
                chosen = min(positions, key=lambda i: numeric[i])
            else:
                chosen = max(positions, key=lambda i: numeric[i])
            value = present[chosen][0]
            return value if isinstance(value, Timestamp) else numeric[chosen]
        texts = [to_text(v) or "" for v, _ in present]
        return min(texts) if name == "min" else max(texts)
    numbers: list[float] = [n for n in (to_number(v) for v, _ in present) if n is not None]
    if name == "sum":
        return sum(numbers) if numbers else None
    if name == "avg":
        return sum(numbers) / len(numbers) if numbers else None
    if name == "stddev":
        if not numbers:
            return None
        mean = sum(numbers) / len(numbers)
        return math.sqrt(sum((n - mean) ** 2 for n in numbers) / len(numbers))
    if name == "pct":
        percent = to_number(_value(call.args[1], {}, context))
        if not numbers or percent is None:
            return None
        ordered = sorted(numbers)
        rank = max(1, math.ceil(percent / 100 * len(ordered)))  # nearest rank
        return ordered[min(rank, len(ordered)) - 1]
    raise AssertionError(name)  # pragma: no cover


def _render(value: Any) -> Any:
    if isinstance(value, Timestamp):
        return value.text()
    if isinstance(value, list | dict):
        return to_text(value)
    return value
