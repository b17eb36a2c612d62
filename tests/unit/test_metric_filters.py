"""Metric filters beyond the recorded cases: both definition shapes, validation, extraction."""

from __future__ import annotations

import math
from typing import Any

import pytest

from pipeline.errors import MetricFilterError
from pipeline.metric_filters import MetricSample, compile_metric_filter

ACCESS_LOG = '127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534'
DELIMITED = "[ip, server, username, timestamp, request, status_code, bytes]"


def api(pattern: str = "ERROR", **transformation: Any) -> dict[str, Any]:
    extra = {k: transformation.pop(k) for k in list(transformation) if k in ("top",)}
    definition: dict[str, Any] = {
        "filterName": "errors",
        "filterPattern": pattern,
        "metricTransformations": [
            {"metricName": "Errors", "metricNamespace": "App", "metricValue": "1", **transformation}
        ],
    }
    definition.update(extra.get("top", {}))
    return definition


def test_cloudformation_properties_shape_is_accepted() -> None:
    metric_filter = compile_metric_filter(
        {
            "FilterName": "bytes",
            "FilterPattern": DELIMITED,
            "LogGroupName": "/web/access",
            "MetricTransformations": [
                {
                    "MetricName": "Bytes",
                    "MetricNamespace": "Web",
                    "MetricValue": "$bytes",
                    "Unit": "Bytes",
                    "Dimensions": [{"Key": "Server", "Value": "$server"}],
                }
            ],
        }
    )
    assert metric_filter.evaluate(ACCESS_LOG, 5) == [
        MetricSample("Web", "Bytes", {"Server": "Prod"}, 1534.0, "Bytes", 5)
    ]


def test_a_whole_cloudformation_resource_is_accepted() -> None:
    resource = {
        "Type": "AWS::Logs::MetricFilter",
        "Properties": {
            "FilterPattern": "ERROR",
            "LogGroupName": "/aws/lambda/orders",
            "MetricTransformations": [
                {"MetricName": "E", "MetricNamespace": "N", "MetricValue": "1", "DefaultValue": "0"}
            ],
        },
    }
    metric_filter = compile_metric_filter(resource)
    assert metric_filter.definition.default_value == 0.0
    assert [s.value for s in metric_filter.evaluate("INFO ok", 1)] == [0.0]


def test_another_resource_type_is_refused() -> None:
    with pytest.raises(MetricFilterError, match="not AWS::Logs::MetricFilter"):
        compile_metric_filter({"Type": "AWS::Logs::LogGroup", "Properties": {}})


def test_positional_reference_reads_a_named_field() -> None:
    metric_filter = compile_metric_filter(api(DELIMITED, metricValue="$7"))
    assert [s.value for s in metric_filter.evaluate(ACCESS_LOG, 1)] == [1534.0]


def test_positional_reference_under_an_ellipsis() -> None:
    metric_filter = compile_metric_filter(api("[ip, ..., bytes]", metricValue="$6"))
    assert [s.value for s in metric_filter.evaluate(ACCESS_LOG, 1)] == [404.0]


def test_non_numeric_field_gives_no_datapoint() -> None:
    metric_filter = compile_metric_filter(api(DELIMITED, metricValue="$server"))
    assert metric_filter.evaluate(ACCESS_LOG, 1) == []


def test_numeric_json_string_is_read_as_its_number() -> None:
    metric_filter = compile_metric_filter(api("{ $.v = * }", metricValue="$.v"))
    assert [s.value for s in metric_filter.evaluate('{"v": "11.5"}', 1)] == [11.5]


def test_boolean_json_value_gives_no_datapoint_even_with_a_default() -> None:
    metric_filter = compile_metric_filter(api("{ $.k = 1 }", metricValue="$.v", defaultValue=7))
    assert metric_filter.evaluate('{"k": 1, "v": true}', 1) == []


def test_nested_selector_value() -> None:
    metric_filter = compile_metric_filter(
        api("{ $.http.status = 200 }", metricValue="$.http.latency_ms", unit="Milliseconds")
    )
    (sample,) = metric_filter.evaluate('{"http": {"status": 200, "latency_ms": 12.5}}', 9)
    assert (sample.value, sample.unit, sample.timestamp) == (12.5, "Milliseconds", 9)


def test_numeric_dimension_values_are_strings() -> None:
    metric_filter = compile_metric_filter(
        api("{ $.code = * }", dimensions={"Code": "$.code", "Ok": "$.ok"})
    )
    (sample,) = metric_filter.evaluate('{"code": 503, "ok": false}', 1)
    assert sample.dimensions == {"Code": "503", "Ok": "false"}


def test_object_dimension_value_counts_as_missing() -> None:
    metric_filter = compile_metric_filter(api("{ $.k = 1 }", dimensions={"A": "$.a"}))
    (sample,) = metric_filter.evaluate('{"k": 1, "a": {"b": 1}}', 1)
    assert sample.dimensions == {}


def test_matching_event_without_default_yields_one_sample_and_miss_none() -> None:
    metric_filter = compile_metric_filter(api("ERROR"))
    assert len(metric_filter.evaluate("ERROR x", 1)) == 1
    assert metric_filter.evaluate("INFO x", 1) == []


def test_system_dimension_without_its_value_publishes_without_dimensions() -> None:
    metric_filter = compile_metric_filter(
        api("ERROR", top={"emitSystemFieldDimensions": ["@aws.account"]})
    )
    (sample,) = metric_filter.evaluate("ERROR", 1)
    assert sample.dimensions == {}


def test_default_with_system_dimensions_only_is_accepted() -> None:
    compile_metric_filter(
        api("ERROR", defaultValue=0, top={"emitSystemFieldDimensions": ["@aws.region"]})
    )


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        (api("{ $.a = * }", defaultValue=0, dimensions={"A": "$.a"}), "default value cannot"),
        (api("%ERR%", dimensions={"A": "$.a"}), "does not support dimensions"),
        (api("", dimensions={"A": "$.a"}), "does not support dimensions"),
        (
            api(
                "{ $.a = * }",
                dimensions={"A": "$.a", "B": "$.b"},
                top={"emitSystemFieldDimensions": ["@aws.region", "@aws.account"]},
            ),
            "at most 3 dimensions",
        ),
        (api("{ $.a = * }", dimensions={"A": "a"}), "must be a field"),
        (api("{ $.a = * }", dimensions={":A": "$.a"}), "do not start with ':'"),
        (api(metricValue="length"), "metric value length must be a valid number"),
        (api("{ $.a = * }", metricValue="$size"), "metric value \\$size must be a valid number"),
        (api(metricValue="NaN"), "must be a valid number"),
        (api(defaultValue="7"), "SerializationException"),
        (api(unit="Millis"), "enum value set"),
        (api(metricName="a:b"), "regular expression pattern"),
        (api(metricNamespace=""), "length greater than or equal to 1"),
        (api(colour="red"), 'Unknown parameter in input: "metricTransformations\\[0\\].colour"'),
        (api("{ $.a = }"), "Invalid filter pattern: .* \\(at position \\d+\\)"),
        (api(top={"applyOnTransformedLogs": True}), "applyOnTransformedLogs"),
        (api(top={"emitSystemFieldDimensions": ["@aws.zone"]}), "emitSystemFieldDimensions"),
        (api(top={"prometheus": {"histogram_buckets": [1, 1]}}), "increasing numbers"),
        (api(top={"prometheus": {"histogram_buckets": [1, math.nan, 3]}}), "finite"),
    ],
)
def test_invalid_definitions_are_refused(definition: dict[str, Any], message: str) -> None:
    with pytest.raises(MetricFilterError, match=message):
        compile_metric_filter(definition)


def test_two_transformations_are_refused() -> None:
    definition = api()
    definition["metricTransformations"] *= 2
    with pytest.raises(MetricFilterError, match="valid max length: 1"):
        compile_metric_filter(definition)


def test_missing_pattern_is_named() -> None:
    definition = api()
    del definition["filterPattern"]
    with pytest.raises(
        MetricFilterError, match='Missing required parameter in input: "filterPattern"'
    ):
        compile_metric_filter(definition)


def test_metric_value_may_be_a_yaml_number() -> None:
    (sample,) = compile_metric_filter(api(metricValue=2)).evaluate("ERROR", 1)
    assert sample.value == 2.0


@pytest.mark.parametrize(
    ("log_group_name", "group", "applies"),
    [
        ("/aws/lambda/orders", "/aws/lambda/orders", True),
        ("/aws/lambda/orders", "/aws/lambda/orders-v2", False),
        ("/aws/lambda/*", "/aws/lambda/orders", True),
        ("/aws/lambda/order?", "/aws/lambda/orders", True),
        ("/aws/lambda/*", "/ecs/web", False),
        (None, "/anything", True),
    ],
)
def test_log_group_name_is_exact_or_a_glob(
    log_group_name: str | None, group: str, applies: bool
) -> None:
    definition = api()
    if log_group_name:
        definition["logGroupName"] = log_group_name
    assert compile_metric_filter(definition).applies_to(group) is applies


def test_histogram_buckets_are_kept() -> None:
    definition = api(top={"prometheus": {"histogram_buckets": [0.1, 1, 10]}})
    assert compile_metric_filter(definition).definition.histogram_buckets == (0.1, 1.0, 10.0)
