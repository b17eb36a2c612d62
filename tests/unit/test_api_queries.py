"""Background Insights queries: AWS's statuses, the concurrency bounds, StartQuery's checks."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from consumers.api import queries
from consumers.api.errors import ApiError
from consumers.api.params import Params
from consumers.api.queries import QueryRegistry
from consumers.api.query_operations import (
    describe_queries,
    get_log_record,
    get_query_results,
    start_query,
    stop_query,
)
from consumers.insights.store import InsightsRun
from pipeline.insights import Query, evaluate, parse_query
from tests.unit.api_doubles import context, document

DOCS = [document(n, 1000 * (n + 1), f'{{"n": {n}}}') for n in range(3)]


class Gate:
    """A runner that answers the reference evaluator's rows once released."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.fail = fail
        self.calls: list[tuple[str, ...]] = []

    async def __call__(
        self, query: Query, groups: Sequence[str], start_ms: int, end_ms: int
    ) -> InsightsRun:
        self.calls.append(tuple(groups))
        self.started.set()
        await self.release.wait()
        if self.fail is not None:
            raise self.fail
        return InsightsRun(evaluate(query, DOCS, start_ms=start_ms, end_ms=end_ms))


def registry(
    gate: Gate, *, running: int = 1, pending: int = 5, timeout: float = 30
) -> QueryRegistry:
    return QueryRegistry(gate, timeout_s=timeout, max_running=running, max_pending=pending)


def start(reg: QueryRegistry, text: str = "fields n") -> str:
    return reg.start(text, parse_query(text), ["/g"], 0, 10**13, None).query_id


async def test_a_query_goes_running_then_complete() -> None:
    gate = Gate()
    reg = registry(gate)
    record = reg.get(start(reg))
    assert record is not None
    await gate.started.wait()
    assert record.status == "Running"
    gate.release.set()
    await record.done.wait()
    assert record.status == "Complete"


async def test_past_the_running_bound_a_query_waits_scheduled() -> None:
    gate = Gate()
    reg = registry(gate, running=1)
    first, second = reg.get(start(reg)), reg.get(start(reg))
    assert first is not None and second is not None
    await gate.started.wait()
    assert (first.status, second.status) == ("Running", "Scheduled")
    gate.release.set()
    await second.done.wait()
    assert second.status == "Complete"


async def test_past_the_pending_bound_start_is_limit_exceeded() -> None:
    reg = registry(Gate(), pending=2)
    start(reg)
    start(reg)
    with pytest.raises(ApiError) as raised:
        start(reg)
    assert raised.value.type == "LimitExceededException"
    await reg.close()


async def test_stop_cancels_a_running_query() -> None:
    gate = Gate()
    reg = registry(gate)
    query_id = start(reg)
    await gate.started.wait()
    assert reg.stop(query_id) is True
    record = reg.get(query_id)
    assert record is not None and record.status == "Cancelled"
    assert reg.stop(query_id) is False  # already finished


async def test_a_store_failure_is_failed() -> None:
    gate = Gate(fail=ConnectionError("refused"))
    gate.release.set()
    reg = registry(gate)
    record = reg.get(start(reg))
    assert record is not None
    await record.done.wait()
    assert record.status == "Failed"


async def test_a_query_past_its_time_is_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queries, "GRACE_S", 0.0)
    reg = registry(Gate(), timeout=0.01)
    record = reg.get(start(reg))
    assert record is not None
    await record.done.wait()
    assert record.status == "Timeout"


async def test_results_with_ptr_and_insights_column_names() -> None:
    gate = Gate()
    gate.release.set()
    ctx = context(DOCS)
    ctx.queries = registry(gate)
    started = await start_query(
        ctx,
        Params(
            {
                "logGroupName": "/g",
                "startTime": 0,
                "endTime": 10,
                "queryString": "fields n | sort n asc",
            }
        ),
    )
    record = ctx.queries.get(started["queryId"])
    assert record is not None
    await record.done.wait()
    answer = await get_query_results(ctx, Params({"queryId": started["queryId"]}))
    assert answer["status"] == "Complete"
    assert answer["results"][0] == [
        {"field": "n", "value": "0"},
        {"field": "@ptr", "value": "00000000"},
    ]
    assert answer["statistics"]["recordsMatched"] == 3.0
    record_answer = await get_log_record(ctx, Params({"logRecordPointer": "00000000"}))
    assert record_answer["logRecord"]["@timestamp"] == "1000"
    assert record_answer["logRecord"]["n"] == "0"
    listed = await describe_queries(ctx, Params({"status": "Complete"}))
    assert [q["queryId"] for q in listed["queries"]] == [started["queryId"]]


async def test_start_query_times_are_seconds_and_inclusive() -> None:
    gate = Gate()
    ctx = context(DOCS)
    ctx.queries = registry(gate)
    started = await start_query(
        ctx, Params({"logGroupName": "/g", "startTime": 1, "endTime": 2, "queryString": "fields n"})
    )
    record = ctx.queries.get(started["queryId"])
    assert record is not None and (record.start_ms, record.end_ms) == (1000, 2999)
    await stop_query(ctx, Params({"queryId": started["queryId"]}))


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"logGroupName": "/g", "queryString": "stats count(* by x"}, "MalformedQueryException"),
        ({"logGroupName": "/missing", "queryString": "fields n"}, "ResourceNotFoundException"),
        ({"queryString": "fields n"}, "InvalidParameterException"),
        (
            {"logGroupName": "/g", "logGroupNames": ["/g"], "queryString": "fields n"},
            "InvalidParameterException",
        ),
        (
            {"logGroupName": "/g", "queryString": "fields n", "queryLanguage": "SQL"},
            "InvalidParameterException",
        ),
    ],
)
async def test_start_query_refusals(params: dict[str, object], error: str) -> None:
    with pytest.raises(ApiError) as raised:
        await start_query(context(DOCS), Params({"startTime": 0, "endTime": 10, **params}))
    assert raised.value.type == error


async def test_an_unknown_query_id_is_not_found() -> None:
    with pytest.raises(ApiError) as raised:
        await get_query_results(context(DOCS), Params({"queryId": "nope"}))
    assert raised.value.type == "ResourceNotFoundException"
