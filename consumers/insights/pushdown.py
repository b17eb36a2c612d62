"""Counting in the store: the queries whose stats OpenSearch answers exactly, without a scan.

``stats count(*)`` with no grouping, or by any of ``bin(period)`` of fixed
length (milliseconds to weeks), ``@logStream`` and ``@log``, after nothing
but filters on ``@logStream = "..."``, is a document count per composite
bucket: exact, and what a dashboard asks every few seconds. Only these
system fields can be aggregated in the store: Insights' other fields (JSON,
Lambda's) are read from ``@message`` at query time. Groups come out in the
order a scan gives them (by their newest event, a ``top_hits`` per bucket).
The commands after the stats (sort, limit, fields, more stats...) run on the
buckets in the reference evaluator, so the rows are the ones a scan would
give. Everything else scans
(:mod:`consumers.insights.store`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from pipeline.insights import Query, Result
from pipeline.insights.discovered import Timestamp, parse_timestamp
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
    keys: tuple[
        tuple[str, int], ...
    ]  # per by item: ("bin", interval ms), ("stream", 0), ("log", 0)
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
    keys: list[tuple[str, int]] = []
    for item in stats.by:
        key = _group_key(item.expr)
        if key is None:
            return None
        keys.append(key)
    return CountPlan(stats, tuple(keys), tuple(streams), commands[index + 1 :])


def _group_key(expr: Expr) -> tuple[str, int] | None:
    """What the store can group by exactly: a fixed bin, the stream, the log."""
    if expr == Field("@logStream"):
        return ("stream", 0)
    if expr == Field("@log"):
        return ("log", 0)
    if isinstance(expr, Call) and expr.name == "bin" and isinstance(expr.args[0], Duration):
        period = period_ms(expr.args[0].text)
        if period is None or period[0] != "ms" or period[1] < 1:
            return None
        if not float(period[1]).is_integer():
            return None
        return ("bin", int(period[1]))
    return None


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
    if not plan.keys:
        try:
            answer = await client.count(index=indices, body={"query": query_body})
            total = int(answer["count"])
        except NotFoundError:
            total = 0
        rows.append(dict.fromkeys(names, total))
    else:
        groups = await _groups(client, indices, query_body, plan.keys)
        # a scan orders groups by their newest event (equal times by event id)
        groups.sort(key=lambda group: (-group[2], group[3]))
        for values, count, _, _ in groups:
            total += count
            row: Row = {item.name: value for item, value in zip(plan.stats.by, values, strict=True)}
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


async def _groups(
    client: AsyncOpenSearch,
    indices: str,
    query_body: dict[str, Any],
    keys: tuple[tuple[str, int], ...],
) -> list[tuple[list[Any], int, int, str]]:
    """Every group's key values, its count, and its newest event's time and id, paging
    through a composite aggregation."""
    sources: list[dict[str, Any]] = []
    for position, (kind, interval) in enumerate(keys):
        if kind == "bin":
            field = {"date_histogram": {"field": "@timestamp", "fixed_interval": f"{interval}ms"}}
            sources.append({f"k{position}": field})
        elif kind == "stream":
            sources.append({f"k{position}": {"terms": {"field": "@log_stream"}}})
        else:
            sources.append({f"k{position}o": {"terms": {"field": "@owner"}}})
            sources.append({f"k{position}g": {"terms": {"field": "@log_group"}}})
    newest = {
        "top_hits": {
            "size": 1,
            "sort": [{"@timestamp": "desc"}, {"@id": "asc"}],
            "_source": ["@timestamp", "@id"],
        }
    }
    found: list[tuple[list[Any], int, int, str]] = []
    after: dict[str, Any] | None = None
    while True:
        composite: dict[str, Any] = {"size": BUCKETS_PER_PAGE, "sources": sources}
        if after is not None:
            composite["after"] = after
        body = {
            "size": 0,
            "query": query_body,
            "aggs": {"groups": {"composite": composite, "aggs": {"newest": newest}}},
        }
        try:
            answer = await client.search(index=indices, body=body)
        except NotFoundError:
            return found
        aggregation = answer.get("aggregations", {}).get("groups", {})
        page = aggregation.get("buckets", [])
        for bucket in page:
            if not bucket["doc_count"]:
                continue
            key = bucket["key"]
            values: list[Any] = []
            for position, (kind, _) in enumerate(keys):
                if kind == "bin":
                    values.append(Timestamp(int(key[f"k{position}"])))
                elif kind == "stream":
                    values.append(key[f"k{position}"])
                else:
                    values.append(f"{key[f'k{position}o']}:{key[f'k{position}g']}")
            hit = bucket["newest"]["hits"]["hits"][0]["_source"]
            stamp = parse_timestamp(str(hit.get("@timestamp", ""))) or 0
            found.append((values, int(bucket["doc_count"]), stamp, str(hit.get("@id", ""))))
        after = aggregation.get("after_key")
        if len(page) < BUCKETS_PER_PAGE or after is None:
            return found
