"""Discovered fields computed from the documents the pipeline indexes: the system fields
(``@timestamp``, ``@message``, ``@logStream``, ``@log``) and the fields of JSON messages
with dotted paths (``items.0.x`` for arrays).

Sources: the discovered-fields page (system fields; JSON "flattened" with dot notation,
CloudTrail's ``requestParameters.instancesSet.items.0.instanceId``), the issue's
conventions (``@log`` is ``<account>:<log group>``, ``@timestamp`` written
``2019-07-02 04:35:21.530``), moto test_query.py (``@log`` holding the group),
vorpalstacks TestBuildRowsSystemFields / TestDotNumericArrayIndexingInQueries, and
floci queryResolvesNestedJsonObjectsAndDeepPaths.
"""

from __future__ import annotations

import pytest

from pipeline.insights import run_query
from tests.insights_events import ACCOUNT, T0, Event, column, documents, json_docs, stamp

CLOUDTRAIL = {
    "eventVersion": "1.08",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "StartInstances",
    "awsRegion": "us-east-2",
    "requestParameters": {
        "instancesSet": {"items": [{"instanceId": "i-abcde123"}, {"instanceId": "i-fffff456"}]}
    },
    "responseElements": {"_return": True, "count": 2},
    "tags": ["blue", "green"],
}


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("eventName", "StartInstances"),
        ("awsRegion", "us-east-2"),
        ("requestParameters.instancesSet.items.0.instanceId", "i-abcde123"),
        ("requestParameters.instancesSet.items.1.instanceId", "i-fffff456"),
        ("responseElements.count", 2),
        ("tags.0", "blue"),
        ("tags.1", "green"),
    ],
)
def test_json_fields_are_discovered_with_dotted_paths(field: str, expected) -> None:
    rows = run_query(f"fields {field}", json_docs(CLOUDTRAIL))
    assert rows == [{field: expected}]


def test_filter_on_an_array_item() -> None:
    # vorpalstacks: filter requestParameters.instancesSet.items.0.instanceId = "i-abcde123"
    events = json_docs(
        {"requestParameters": {"instancesSet": {"items": [{"instanceId": "i-abcde123"}]}}},
        {"requestParameters": {"instancesSet": {"items": [{"instanceId": "i-999"}]}}},
        {"requestParameters": {"instancesSet": {"items": []}}},
    )
    rows = run_query(
        'filter requestParameters.instancesSet.items.0.instanceId = "i-abcde123" | fields @message',
        events,
    )
    assert len(rows) == 1
    first = run_query(
        "fields requestParameters.instancesSet.items.0.instanceId as first"
        " | filter ispresent(first) | sort @timestamp asc",
        events,
    )
    assert column(first, "first") == ["i-abcde123", "i-999"]


def test_cloudtrail_sample_queries() -> None:
    # Grafana's CloudTrail samples: stats count(*) by eventSource, eventName, awsRegion;
    # filter (eventName="StartInstances" or eventName="StopInstances") and awsRegion=...
    events = json_docs(
        CLOUDTRAIL,
        {**CLOUDTRAIL, "eventName": "StopInstances"},
        {**CLOUDTRAIL, "eventName": "StopInstances", "awsRegion": "eu-west-1"},
        {**CLOUDTRAIL, "eventName": "CreateUser", "eventSource": "iam.amazonaws.com"},
    )
    counts = run_query("stats count(*) as n by eventSource, eventName, awsRegion", events)
    assert sorted((r["eventSource"], r["eventName"], r["awsRegion"], r["n"]) for r in counts) == [
        ("ec2.amazonaws.com", "StartInstances", "us-east-2", 1),
        ("ec2.amazonaws.com", "StopInstances", "eu-west-1", 1),
        ("ec2.amazonaws.com", "StopInstances", "us-east-2", 1),
        ("iam.amazonaws.com", "CreateUser", "us-east-2", 1),
    ]
    region = run_query(
        'filter (eventName="StartInstances" or eventName="StopInstances") and awsRegion="us-east-2"'
        " | fields eventName | sort @timestamp asc",
        events,
    )
    assert column(region, "eventName") == ["StartInstances", "StopInstances"]


def test_json_numbers_stay_numbers() -> None:
    rows = run_query("fields a, b, c", json_docs({"a": 1, "b": 2.5, "c": "3"}))
    assert rows == [{"a": 1, "b": 2.5, "c": "3"}]
    assert type(rows[0]["a"]) is int and type(rows[0]["c"]) is str


def test_json_after_a_text_prefix() -> None:
    # the pipeline indexes the JSON object that starts at the message's first "{"
    rows = run_query(
        'filter level = "error" | fields msg',
        documents([Event('ts=1 {"level": "error", "msg": "m"}')]),
    )
    assert rows == [{"msg": "m"}]


def test_the_system_fields() -> None:
    events = documents(
        [Event("one", T0, "/ecs/web", "web/app/abc"), Event("two", T0 + 1, "/aws/lambda/x", "s2")]
    )
    rows = run_query("fields @timestamp, @message, @logStream, @log | sort @timestamp asc", events)
    assert rows == [
        {"@timestamp": stamp(T0), "@message": "one", "@logStream": "web/app/abc", "@log": f"{ACCOUNT}:/ecs/web"},
        {"@timestamp": stamp(T0 + 1), "@message": "two", "@logStream": "s2", "@log": f"{ACCOUNT}:/aws/lambda/x"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (T0, "2019-07-02 04:35:21.530"),
        (0, "1970-01-01 00:00:00.000"),
        (1_700_000_000_000, "2023-11-14 22:13:20.000"),  # vorpalstacks TestFormatResultTimestamp
        (1_642_195_111_007, "2022-01-14 21:18:31.007"),
        (951_782_400_999, "2000-02-29 00:00:00.999"),
    ],
)
def test_the_timestamp_text(ms: int, text: str) -> None:
    assert stamp(ms) == text
    assert run_query("fields @timestamp", documents([Event("x", ms)])) == [{"@timestamp": text}]


def test_filter_and_stats_on_the_log_group_and_stream() -> None:
    events = documents(
        [
            Event("a", T0, "/g/one", "s1"),
            Event("b", T0 + 1, "/g/two", "s1"),
            Event("c", T0 + 2, "/g/one", "s2"),
        ]
    )
    by_log = run_query("stats count(*) as n by @log", events)
    assert {r["@log"]: r["n"] for r in by_log} == {f"{ACCOUNT}:/g/one": 2, f"{ACCOUNT}:/g/two": 1}
    stream = run_query('filter @logStream = "s2" | fields @message', events)
    assert rows_messages(stream) == ["c"]


def rows_messages(rows: list[dict]) -> list[str]:
    return column(rows, "@message")


def test_a_key_starting_with_at_is_shown_with_another_at() -> None:
    # discovered fields whose own name starts with @ are shown with an extra @ (reference
    # notes; vorpalstacks TestBuildRowsSystemFields "@weird" -> "@@weird")
    rows = run_query("fields `@@weird`, level", json_docs({"@weird": 1, "level": "INFO"}))
    assert rows == [{"@@weird": 1, "level": "INFO"}]
