"""Counting in the store: the queries whose stats OpenSearch answers exactly, without a scan.

``stats count(*)`` with no grouping or by one ``bin(period)`` of fixed length
(milliseconds to weeks), after nothing but filters on ``@logStream = "..."``,
is a document count per ``date_histogram`` bucket: exact, and what a
dashboard asks every few seconds. The commands after the stats (sort, limit,
fields, more stats...) run on the buckets in the reference evaluator, so the
rows are the ones a scan would give. Everything else scans
(:mod:`consumers.insights.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from pipeline.insights import Query, Result
from pipeline.insights.discovered import Timestamp
from pipeline.insights.evaluate import Row, run_commands
from pipeline.insights.functions import period_ms
from pipeline.insights.syntax import (
    Binary,
    Call,
    Command,
    Duration,
    Expr,
    Field,
    Filter,
    In,
    Literal,
    Stats,
    Unary,
)

__all__ = ["CountPlan", "count_in_store", "narrowing", "plan_count"]

BUCKETS_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class CountPlan:
    stats: Stats
    interval_ms: int | None  # None: one count over everything
    streams: tuple[str, ...]  # @logStream = ... filters, all of which must hold
    rest: tuple[Command, ...]


def narrowing(query: Query) -> list[dict[str, Any]]:
    """Store filters implied by the query's leading ``filter`` commands, where the store
    answers them exactly (``@logStream`` equal to or in literals, ``and``/``or``/``not`` of
    those). Always a superset of what the filters keep: the evaluator applies them again."""
    found: list[dict[str, Any]] = []
    for command in query.commands:
        if not isinstance(command, Filter):
            break
        found += _conjuncts(command.condition)
    return found


def _conjuncts(condition: Expr) -> list[dict[str, Any]]:
    """The translatable parts of an ``and`` chain (the rest is left to the evaluator)."""
    if isinstance(condition, Binary) and condition.op == "and":
        return _conjuncts(condition.left) + _conjuncts(condition.right)
    exact = _exact(condition)
    return [] if exact is None else [exact]


def _exact(condition: Expr) -> dict[str, Any] | None:
    """The DSL of ``condition`` when it means exactly that in the store; None otherwise."""
    if isinstance(condition, Binary) and condition.op in ("and", "or"):
        left, right = _exact(condition.left), _exact(condition.right)
        if left is None or right is None:
            return None
        if condition.op == "and":
            return {"bool": {"filter": [left, right]}}
        return {"bool": {"should": [left, right], "minimum_should_match": 1}}
    if isinstance(condition, Unary) and condition.op == "not":
        inner = _exact(condition.operand)
        # exact because every document has @log_stream: no missing value makes the
        # evaluator's "unknown" differ from the store's "false"
        return None if inner is None else {"bool": {"must_not": [inner]}}
    if (
        isinstance(condition, Binary)
        and condition.op == "="
        and condition.left == Field("@logStream")
        and isinstance(condition.right, Literal)
        and isinstance(condition.right.value, str)
    ):
        return {"term": {"@log_stream": condition.right.value}}
    if (
        isinstance(condition, In)
        and not condition.negated
        and condition.operand == Field("@logStream")
        and all(
            isinstance(item, Literal) and isinstance(item.value, str)
            for item in condition.options.items
        )
    ):
        values = [item.value for item in condition.options.items if isinstance(item, Literal)]
        return {"terms": {"@log_stream": values}}
    return None


def plan_count(query: Query) -> CountPlan | None:
    """The plan when the store can count this query exactly; None when it must be scanned."""
    commands = query.commands
    streams: list[str] = []
    index = 0
    while index < len(commands) and isinstance(commands[index], Filter):
        condition = commands[index].condition  # type: ignore[union-attr]
        if not (
            isinstance(condition, Binary)
            and condition.op == "="
            and condition.left == Field("@logStream")
            and isinstance(condition.right, Literal)
            and isinstance(condition.right.value, str)
        ):
            return None
        streams.append(condition.right.value)
        index += 1
    if index >= len(commands) or not isinstance(commands[index], Stats):
        return None
    stats = commands[index]
    assert isinstance(stats, Stats)
    for item in stats.items:
        if not (isinstance(item.expr, Call) and item.expr.name == "count" and item.expr.star):
            return None
    interval = None
    if len(stats.by) > 1:
        return None
    if stats.by:
        by = stats.by[0].expr
        if not (isinstance(by, Call) and by.name == "bin" and isinstance(by.args[0], Duration)):
            return None
        period = period_ms(by.args[0].text)
        if (
            period is None
            or period[0] != "ms"
            or period[1] < 1
            or not float(period[1]).is_integer()
        ):
            return None
        interval = int(period[1])
    return CountPlan(stats, interval, tuple(streams), commands[index + 1 :])


async def count_in_store(
    client: AsyncOpenSearch,
    query: Query,
    plan: CountPlan,
    *,
    indices: str,
    narrowed: dict[str, Any],
    now_ms: int | None,
) -> tuple[Result, int]:
    """The query's rows and the number of documents counted."""
    filters = [narrowed, *({"term": {"@log_stream": stream}} for stream in plan.streams)]
    query_body = {"bool": {"filter": filters}}
    names = [item.name for item in plan.stats.items]
    rows: list[Row] = []
    total = 0
    if plan.interval_ms is None:
        try:
            answer = await client.count(index=indices, body={"query": query_body})
            total = int(answer["count"])
        except NotFoundError:
            total = 0
        rows.append(dict.fromkeys(names, total))
    else:
        by = plan.stats.by[0].name
        buckets: list[tuple[int, int]] = []
        after: dict[str, Any] | None = None
        while True:
            source = {
                "date_histogram": {"field": "@timestamp", "fixed_interval": f"{plan.interval_ms}ms"}
            }
            composite: dict[str, Any] = {"size": BUCKETS_PER_PAGE, "sources": [{"bin": source}]}
            if after is not None:
                composite["after"] = after
            body = {"size": 0, "query": query_body, "aggs": {"bins": {"composite": composite}}}
            try:
                answer = await client.search(index=indices, body=body)
            except NotFoundError:
                break
            aggregation = answer.get("aggregations", {}).get("bins", {})
            page = aggregation.get("buckets", [])
            buckets += [(int(b["key"]["bin"]), int(b["doc_count"])) for b in page if b["doc_count"]]
            after = aggregation.get("after_key")
            if len(page) < BUCKETS_PER_PAGE or after is None:
                break
        buckets.sort(reverse=True)  # newest first, as a scan groups them
        for start, count in buckets:
            total += count
            row: Row = {by: Timestamp(start)}
            row.update(dict.fromkeys(names, count))
            rows.append(row)
    result = Result()
    result.matched = total
    result.scanned = total
    run_commands(
        query,
        plan.rest,
        rows,
        result,
        now_ms=now_ms,
        columns=[item.name for item in plan.stats.by] + names,
        aggregated=True,
    )
    return result, total
