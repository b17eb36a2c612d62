"""FilterLogEvents and GetLogEvents over an in-memory store: exact pages, AWS's tokens."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.api import events
from consumers.api.errors import ApiError
from consumers.api.events import filter_log_events, get_log_events
from consumers.api.params import Params
from pipeline.patterns import compile_pattern
from tests.unit.api_doubles import context, document

MESSAGES = ["ERROR disk full", "INFO ok", "ERROR timeout", "WARN slow", "ERROR again", "INFO bye"]
# several events share a millisecond: the event id orders them
DOCS = [
    document(n, 1000 + (n // 2), message, stream=f"s{n % 2}") for n, message in enumerate(MESSAGES)
]


async def all_pages(operation: Any, ctx: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    token = None
    for _ in range(100):
        answer = await operation(ctx, Params({**params, **({"nextToken": token} if token else {})}))
        found += answer["events"]
        token = answer.get("nextToken")
        if token is None:
            return found
    raise AssertionError("no end")


@pytest.mark.parametrize("pattern", ["", "ERROR", "?WARN ?INFO", "-ERROR", '"disk full"'])
@pytest.mark.parametrize("limit", [1, 2, 10])
async def test_filter_pages_hold_exactly_the_matching_events_once(
    pattern: str, limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "PAGE", 2)  # the store's pages are smaller than ours
    got = await all_pages(
        filter_log_events,
        context(DOCS),
        {"logGroupName": "/g", "filterPattern": pattern, "limit": limit},
    )
    compiled = compile_pattern(pattern)
    expected = [d["@id"] for d in DOCS if compiled.match(d["@message"]) is not None]
    assert [e["eventId"] for e in got] == expected


async def test_filter_latest_first_when_not_from_head() -> None:
    got = await all_pages(
        filter_log_events, context(DOCS), {"logGroupName": "/g", "startFromHead": False, "limit": 2}
    )
    assert [e["eventId"] for e in got] == [d["@id"] for d in reversed(DOCS)]


async def test_a_scan_budget_answers_with_a_token_to_go_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events, "PAGE", 1)
    monkeypatch.setattr(events, "SCAN_BUDGET_EVENTS", 2)
    ctx = context(DOCS)
    first = await filter_log_events(ctx, Params({"logGroupName": "/g", "filterPattern": "WARN"}))
    assert first["events"] == [] and "nextToken" in first
    rest = await all_pages(
        filter_log_events,
        ctx,
        {"logGroupName": "/g", "filterPattern": "WARN", "nextToken": first["nextToken"]},
    )
    assert [e["message"] for e in rest] == ["WARN slow"]


async def test_filter_narrows_by_stream_and_time_inclusively() -> None:
    got = await all_pages(
        filter_log_events,
        context(DOCS),
        {"logGroupName": "/g", "logStreamNames": ["s0"], "startTime": 1001, "endTime": 1002},
    )
    assert [(e["logStreamName"], e["timestamp"]) for e in got] == [("s0", 1001), ("s0", 1002)]


async def test_filter_event_shape() -> None:
    answer = await filter_log_events(context(DOCS[:1]), Params({"logGroupName": "/g"}))
    assert answer == {
        "events": [
            {
                "logStreamName": "s0",
                "timestamp": 1000,
                "message": "ERROR disk full",
                "ingestionTime": 1000,
                "eventId": "00000000",
            }
        ],
        "searchedLogStreams": [],
    }


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"logGroupName": "/nope"}, "ResourceNotFoundException"),
        ({"logGroupName": "/g", "filterPattern": "{ $.a = "}, "InvalidParameterException"),
        (
            {"logGroupName": "/g", "logStreamNames": ["a"], "logStreamNamePrefix": "a"},
            "InvalidParameterException",
        ),
        ({"logGroupName": "/g", "logGroupIdentifier": "/g"}, "InvalidParameterException"),
        ({"logGroupName": "/g", "limit": 10001}, "InvalidParameterException"),
        ({"logGroupName": "/g", "nextToken": "bogus"}, "InvalidParameterException"),
    ],
)
async def test_filter_refusals(params: dict[str, Any], error: str) -> None:
    with pytest.raises(ApiError) as raised:
        await filter_log_events(context(DOCS), Params(params))
    assert raised.value.type == error


async def test_a_group_arn_identifies_the_group() -> None:
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/g:*"
    answer = await filter_log_events(context(DOCS), Params({"logGroupIdentifier": arn, "limit": 1}))
    assert answer["events"][0]["eventId"] == "00000000"


async def test_a_token_of_another_filter_pattern_is_refused() -> None:
    ctx = context(DOCS)
    first = await filter_log_events(ctx, Params({"logGroupName": "/g", "limit": 1}))
    with pytest.raises(ApiError):
        await filter_log_events(
            ctx,
            Params(
                {"logGroupName": "/g", "filterPattern": "INFO", "nextToken": first["nextToken"]}
            ),
        )


STREAM = [document(n, 1000 + n, f"line {n}") for n in range(5)]
GET = {"logGroupName": "/g", "logStreamName": "s"}


async def test_get_without_a_token_gives_the_latest_events_in_order() -> None:
    answer = await get_log_events(context(STREAM), Params({**GET, "limit": 2}))
    assert [e["message"] for e in answer["events"]] == ["line 3", "line 4"]


async def test_get_forward_from_the_head_to_the_end_then_the_same_token() -> None:
    ctx = context(STREAM)
    answer = await get_log_events(ctx, Params({**GET, "limit": 2, "startFromHead": True}))
    seen = [e["message"] for e in answer["events"]]
    token = answer["nextForwardToken"]
    while True:
        answer = await get_log_events(ctx, Params({**GET, "limit": 2, "nextToken": token}))
        if answer["nextForwardToken"] == token:
            assert answer["events"] == []
            break
        seen += [e["message"] for e in answer["events"]]
        token = answer["nextForwardToken"]
    assert seen == [f"line {n}" for n in range(5)]


async def test_get_backward_walks_to_the_head_then_gives_its_token_back() -> None:
    ctx = context(STREAM)
    answer = await get_log_events(ctx, Params({**GET, "limit": 2}))
    seen = [e["message"] for e in answer["events"]]
    token = answer["nextBackwardToken"]
    while True:
        answer = await get_log_events(ctx, Params({**GET, "limit": 2, "nextToken": token}))
        if answer["nextBackwardToken"] == token:
            break
        seen = [e["message"] for e in answer["events"]] + seen
        token = answer["nextBackwardToken"]
    assert seen == [f"line {n}" for n in range(5)]


async def test_a_tail_sees_events_written_after_the_end() -> None:
    ctx = context(STREAM[:2])
    answer = await get_log_events(ctx, Params({**GET, "startFromHead": True}))
    token = answer["nextForwardToken"]
    ctx.store.documents += STREAM[2:3]  # type: ignore[attr-defined]
    later = await get_log_events(ctx, Params({**GET, "nextToken": token}))
    assert [e["message"] for e in later["events"]] == ["line 2"]


async def test_get_end_time_is_exclusive() -> None:
    answer = await get_log_events(
        context(STREAM), Params({**GET, "startTime": 1001, "endTime": 1003, "startFromHead": True})
    )
    assert [e["timestamp"] for e in answer["events"]] == [1001, 1002]


async def test_get_of_a_missing_stream_is_not_found() -> None:
    with pytest.raises(ApiError) as raised:
        await get_log_events(context(STREAM), Params({"logGroupName": "/g", "logStreamName": "x"}))
    assert raised.value.message == "The specified log stream does not exist."
