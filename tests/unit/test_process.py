"""The core's one door: routing, keeping or dropping, documents, dead letters, counts."""

from __future__ import annotations

import pytest

from consumers.config.service import parse_config
from pipeline.errors import ConfigError
from pipeline.process import Processor
from tests.payloads import data_message

CONFIG = """
routes:
  - name: lambda
    log_groups: ["/aws/lambda/*"]
    filter_pattern: "-DEBUG"
    index_prefix: lambda
    retention_days: 14
    metric_filters:
      - filterName: errors
        filterPattern: ERROR
        metricTransformations: [{metricName: Errors, metricNamespace: App, metricValue: "1"}]
  - name: access
    log_groups: ["/web/*"]
    filter_pattern: "[ip, user, status, bytes]"
    index_prefix: web
    retention_days: never
    json_fields: "off"
default_route: {index_prefix: other, retention_days: 7}
"""


@pytest.fixture
def processor() -> Processor:
    return Processor(parse_config(CONFIG).core)


def test_route_pattern_keeps_and_drops_but_metrics_see_everything(processor: Processor) -> None:
    outcome = processor.process(data_message(["ERROR a", "DEBUG ERROR b", "INFO c"]))
    assert [a.source["@message"] for a in outcome.actions] == ["ERROR a", "INFO c"]
    assert outcome.filtered_out == 1 and outcome.filtered_by_route == {"lambda": 1}
    assert all(a.index.startswith("lambda-") for a in outcome.actions)
    errors = [s for s in outcome.derived.samples if s.name == "Errors"]
    assert len(errors) == 2  # CloudWatch's metric filters see filtered events too


def test_delimited_route_pattern_extracts_fields_into_the_document(processor: Processor) -> None:
    outcome = processor.process(
        data_message(["10.0.0.1 bob 200 512", "short"], log_group="/web/front", log_stream="a")
    )
    (action,) = outcome.actions
    assert action.index.startswith("web-")
    assert {k: action.source[k] for k in ("ip", "user", "status", "bytes")} == {
        "ip": "10.0.0.1",
        "user": "bob",
        "status": 200,
        "bytes": 512,
    }
    assert outcome.filtered_out == 1


def test_default_route_takes_the_rest(processor: Processor) -> None:
    outcome = processor.process(data_message(["x"], log_group="/ecs/api", log_stream="a"))
    assert outcome.actions[0].index.startswith("other-")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty record value"),
        (None, "empty record value"),
        (b"\x1f\x8b\x08\x00garbage", "gzip"),
        (b"{not json", "JSON"),
    ],
)
def test_broken_record_is_a_dead_letter_with_its_reason(
    processor: Processor, value: bytes | None, reason: str
) -> None:
    outcome = processor.process(value)
    assert outcome.actions == []
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.stage == "decode"
    assert reason in outcome.dead_letter.reason


def test_control_message_is_counted_not_indexed(processor: Processor) -> None:
    control = (
        b'{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"",'
        b'"subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL"}]}'
    )
    outcome = processor.process(control)
    assert (outcome.control_batches, outcome.actions, outcome.dead_letter) == (1, [], None)


def test_every_event_is_indexed_or_filtered(processor: Processor) -> None:
    messages = [f"{'DEBUG' if i % 3 == 0 else 'INFO'} {i}" for i in range(30)]
    outcome = processor.process(data_message(messages))
    assert outcome.events == len(outcome.actions) + outcome.filtered_out == 30


def test_lambda_platform_lines_carry_lambda_fields(processor: Processor) -> None:
    outcome = processor.process(
        data_message(["START RequestId: r1 Version: $LATEST", "END RequestId: r1"])
    )
    assert [a.source["lambda"]["type"] for a in outcome.actions] == ["start", "end"]
    assert outcome.actions[0].source["lambda"]["function"] == "orders"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        (
            "routes: [{log_groups: ['/a/*'], index_prefix: a}]",
            "routes[0].retention_days",
            "required",
        ),
        (
            "routes: [{log_groups: ['/a/*'], retention_days: 10}]",
            "routes[0].retention_days",
            "not one of",
        ),
        ("routes: [{retention_days: 7}]", "routes[0].log_groups", "required"),
        (
            "routes: [{log_groups: [x], retention_days: 7, index_prefix: Cwl}]",
            "routes[0].index_prefix",
            "lowercase",
        ),
        (
            "routes: [{log_groups: [x], retention_days: 7, filter_pattern: '{ $.a = }'}]",
            "routes[0].filter_pattern",
            "position",
        ),
        (
            "routes: [{log_groups: [x], retention_days: 7, json_fields: both}]",
            "routes[0].json_fields",
            "merge, nest, off",
        ),
        (
            "default_route: {retention_days: 7, log_groups: [x]}",
            "default_route.log_groups",
            "unknown key",
        ),
        (
            "routes: [{log_groups: [x], retention_days: 7}]\ndefault_route: {retention_days: 30}",
            "default_route.retention_days",
            "already has retention 7",
        ),
    ],
)
def test_route_mistakes_name_the_key(text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "p.yaml")
    assert raised.value.key == key
    assert reason in raised.value.reason
