"""One batch, every derived metric: Lambda lines, EMF and metric filters see each message once."""

from __future__ import annotations

import orjson

from consumers.config.service import parse_config
from pipeline.derived_metrics import DerivedMetrics, MetricsDeriver
from pipeline.payload import decode
from tests.payloads import ACCOUNT, data_message

CONFIG = """
aws_region: eu-west-1
metric_filters:
  - filterName: errors
    logGroupName: /aws/lambda/*
    filterPattern: ERROR
    emitSystemFieldDimensions: ["@aws.account", "@aws.region"]
    metricTransformations:
      - {metricName: Errors, metricNamespace: App, metricValue: "1"}
  - filterName: elsewhere
    logGroupName: /ecs/web
    filterPattern: ""
    metricTransformations:
      - {metricName: Lines, metricNamespace: Web, metricValue: "1"}
"""

EMF = orjson.dumps(
    {
        "_aws": {
            "Timestamp": 1,
            "CloudWatchMetrics": [
                {"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders"}]}
            ],
        },
        "service": "cart",
        "Orders": 2,
    }
).decode()

MESSAGES = [
    "START RequestId: r1 Version: $LATEST",
    "2026-11-23T10:00:00.000Z\tr1\tERROR\tpayment declined",
    EMF,
    '{"_aws": {"Timestamp": 1, "CloudWatchMetrics": "oops"}}',
    "END RequestId: r1",
    "REPORT RequestId: r1\tDuration: 12.5 ms\tBilled Duration: 13 ms\tMemory Size: 256 MB\t"
    "Max Memory Used: 70 MB\tInit Duration: 200.1 ms",
]


def derive(messages: list[str], **where: str) -> DerivedMetrics:
    deriver = MetricsDeriver(parse_config(CONFIG).core)
    (batch,) = decode(data_message(messages, **where))
    return deriver.derive(batch)


def test_lambda_lines_emf_and_filters_from_one_batch() -> None:
    derived = derive(MESSAGES)
    by_name = {(s.namespace, s.name): s for s in derived.samples}
    assert by_name[("Shop", "Orders")].dimensions == {"service": "cart"}
    errors = by_name[("App", "Errors")]
    assert errors.dimensions == {"@aws.account": ACCOUNT, "@aws.region": "eu-west-1"}
    assert ("Web", "Lines") not in by_name  # that filter watches another log group
    metrics = {s.metric for s in derived.invocations}
    assert {"invocations_total", "cold_starts_total", "estimated_cost_usd_total"} <= metrics
    assert derived.emf_invalid == ["_aws.CloudWatchMetrics must be an array"]


def test_non_lambda_group_gets_no_invocation_metrics() -> None:
    derived = derive(MESSAGES, log_group="/ecs/web", log_stream="web/1")
    assert derived.invocations == []
    assert sum(1 for s in derived.samples if s.name == "Lines") == len(MESSAGES)


def test_lambda_metrics_can_be_turned_off() -> None:
    deriver = MetricsDeriver(parse_config("lambda: {enabled: false}").core)
    (batch,) = decode(data_message(MESSAGES))
    assert deriver.derive(batch).invocations == []


def test_emf_written_with_console_log_is_derived() -> None:
    derived = derive([f"2026-11-23T10:00:00.000Z\tr1\tINFO\t{EMF}\n"])
    assert [(s.namespace, s.name, s.value) for s in derived.samples] == [("Shop", "Orders", 2.0)]
    assert derived.emf_invalid == []
