"""DescribeLogGroups/Streams over the store's distinct values; the config's filters in AWS's
shapes; TestMetricFilter as ``cwlpipe test-pattern`` answers."""

from __future__ import annotations

from typing import Any

import pytest

from consumers.api.errors import ApiError
from consumers.api.filters import (
    describe_metric_filters,
    describe_subscription_filters,
)
from consumers.api.filters import (
    test_metric_filter as api_test_metric_filter,
)
from consumers.api.groups import describe_log_groups, describe_log_streams
from consumers.api.params import Params
from consumers.config.service import service_config
from pipeline.test_metric_filter import test_metric_filter as reference
from tests.unit.api_doubles import context, document

DOCS = [
    document(1, 5000, "a", group="/aws/lambda/Checkout", stream="s1"),
    document(2, 1000, "b", group="/aws/lambda/Checkout", stream="s2"),
    document(3, 3000, "c", group="/aws/lambda/Checkout", stream="s1"),
    document(4, 2000, "d", group="/app/DataLogs", stream="x"),
    document(5, 2000, "e", group="/app/datalogs", stream="x"),
]
CONFIG = service_config(
    {
        "routes": [
            {
                "name": "lambda",
                "log_groups": ["/aws/lambda/*"],
                "filter_pattern": "-DEBUG",
                "retention_days": 14,
                "index_prefix": "lambda",
                "metric_filters": [
                    {
                        "filterName": "errors",
                        "filterPattern": "ERROR",
                        "metricTransformations": [
                            {"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}
                        ],
                    }
                ],
            }
        ],
        "metric_filters": [
            {
                "filterName": "latency",
                "filterPattern": "[ip, user, ms]",
                "logGroupName": "/app/*",
                "metricTransformations": [
                    {
                        "metricName": "Latency",
                        "metricNamespace": "App",
                        "metricValue": "$ms",
                        "defaultValue": 0,
                        "unit": "Milliseconds",
                    }
                ],
            }
        ],
    }
)


async def test_groups_are_the_distinct_groups_with_their_route_settings() -> None:
    answer = await describe_log_groups(context(DOCS, CONFIG), Params({}))
    by_name = {g["logGroupName"]: g for g in answer["logGroups"]}
    assert list(by_name) == ["/app/DataLogs", "/app/datalogs", "/aws/lambda/Checkout"]
    checkout = by_name["/aws/lambda/Checkout"]
    assert checkout["retentionInDays"] == 14
    assert checkout["creationTime"] == 1000
    assert checkout["metricFilterCount"] == 1
    assert checkout["arn"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/Checkout:*"


async def test_the_name_pattern_is_a_case_sensitive_substring() -> None:
    answer = await describe_log_groups(context(DOCS), Params({"logGroupNamePattern": "DataLogs"}))
    assert [g["logGroupName"] for g in answer["logGroups"]] == ["/app/DataLogs"]


async def test_prefix_and_pattern_together_are_refused() -> None:
    with pytest.raises(ApiError) as raised:
        await describe_log_groups(
            context(DOCS), Params({"logGroupNamePrefix": "/a", "logGroupNamePattern": "a"})
        )
    assert raised.value.type == "InvalidParameterException"


async def test_streams_by_last_event_time_descending() -> None:
    answer = await describe_log_streams(
        context(DOCS),
        Params(
            {"logGroupName": "/aws/lambda/Checkout", "orderBy": "LastEventTime", "descending": True}
        ),
    )
    assert [(s["logStreamName"], s["lastEventTimestamp"]) for s in answer["logStreams"]] == [
        ("s1", 5000),
        ("s2", 1000),
    ]


async def test_streams_of_a_group_without_documents_is_not_found() -> None:
    with pytest.raises(ApiError) as raised:
        await describe_log_streams(context(DOCS), Params({"logGroupName": "/none"}))
    assert raised.value.type == "ResourceNotFoundException"


async def test_prefix_with_last_event_time_order_is_refused() -> None:
    with pytest.raises(ApiError):
        await describe_log_streams(
            context(DOCS),
            Params(
                {
                    "logGroupName": "/app/DataLogs",
                    "orderBy": "LastEventTime",
                    "logStreamNamePrefix": "x",
                }
            ),
        )


@pytest.mark.parametrize(
    ("pattern", "messages"),
    [
        ("[ip, user, ms > 100]", ["1.2.3.4 bob 150", "1.2.3.4 bob 50", "garbage"]),
        ('{ $.level = "ERROR" }', ['{"level": "ERROR"}', '{"level": "INFO"}']),
        ("", ["anything"]),
    ],
)
async def test_test_metric_filter_is_test_pattern(pattern: str, messages: list[str]) -> None:
    answer = await api_test_metric_filter(
        context([]), Params({"filterPattern": pattern, "logEventMessages": messages})
    )
    assert answer == reference(pattern, messages)


async def test_an_invalid_pattern_is_invalid_parameter() -> None:
    with pytest.raises(ApiError) as raised:
        await api_test_metric_filter(
            context([]), Params({"filterPattern": "{ $.a = ", "logEventMessages": ["x"]})
        )
    assert raised.value.type == "InvalidParameterException"


async def test_metric_filters_of_a_group_in_the_put_metric_filter_shape() -> None:
    answer = await describe_metric_filters(
        context(DOCS, CONFIG), Params({"logGroupName": "/app/DataLogs"})
    )
    assert answer["metricFilters"] == [
        {
            "filterName": "latency",
            "filterPattern": "[ip, user, ms]",
            "metricTransformations": [
                {
                    "metricName": "Latency",
                    "metricNamespace": "App",
                    "metricValue": "$ms",
                    "unit": "Milliseconds",
                    "defaultValue": 0.0,
                }
            ],
            "creationTime": 0,
            "applyOnTransformedLogs": False,
            "logGroupName": "/app/*",
        }
    ]


async def test_every_metric_filter_paged() -> None:
    ctx = context(DOCS, CONFIG)
    first = await describe_metric_filters(ctx, Params({"limit": 1}))
    second = await describe_metric_filters(
        ctx, Params({"limit": 1, "nextToken": first["nextToken"]})
    )
    names = [f["filterName"] for f in first["metricFilters"] + second["metricFilters"]]
    assert sorted(names) == ["errors", "latency"]
    assert "nextToken" not in second


async def test_metric_name_needs_its_namespace() -> None:
    with pytest.raises(ApiError):
        await describe_metric_filters(context(DOCS, CONFIG), Params({"metricName": "Errors"}))


async def test_the_subscription_filter_is_the_groups_route() -> None:
    answer: dict[str, Any] = await describe_subscription_filters(
        context(DOCS, CONFIG), Params({"logGroupName": "/aws/lambda/Checkout"})
    )
    (only,) = answer["subscriptionFilters"]
    assert (only["filterName"], only["filterPattern"], only["logGroupName"]) == (
        "lambda",
        "-DEBUG",
        "/aws/lambda/Checkout",
    )
