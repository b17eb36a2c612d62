"""The Prometheus export: names, base units, summaries or histograms, the label-set cap."""

from __future__ import annotations

import subprocess
from collections import Counter

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumers.prometheus.export import DerivedMetricsExporter
from consumers.prometheus.health import HealthMetrics
from consumers.prometheus.names import (
    RESERVED_PREFIX,
    label_name,
    metric_name,
    snake_case,
    unique_label,
)
from pipeline.invocations import LAMBDA_METRICS, InvocationSample
from pipeline.metric_sample import MetricSample


def scrape(
    exporter: DerivedMetricsExporter,
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(exporter)
    text = generate_latest(registry).decode()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            # An empty label value is no label at all, as Prometheus stores it.
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if v))
            values[(sample.name, labels)] = sample.value
    return values


def sample(value: float, unit: str = "None", **dimensions: str) -> MetricSample:
    return MetricSample("ServerlessAirline", "Latency", dimensions, value, unit, 0)


@pytest.mark.parametrize(
    ("text", "snake"),
    [
        ("ServerlessAirline", "serverless_airline"),
        ("HTTPErrorCount", "http_error_count"),
        ("AWS/Lambda", "aws_lambda"),
        ("my-app.v2", "my_app_v2"),
        ("already_snake", "already_snake"),
        ("Status4xx", "status4xx"),
    ],
)
def test_snake_case(text: str, snake: str) -> None:
    assert snake_case(text) == snake


@pytest.mark.parametrize(
    ("namespace", "name", "unit", "expected"),
    [
        ("Api", "Latency", "Milliseconds", "api_latency_seconds"),
        ("Api", "Payload", "Kilobytes", "api_payload_bytes"),
        ("Api", "Throughput", "Megabits/Second", "api_throughput_bytes_per_second"),
        ("Api", "CpuUsage", "Percent", "api_cpu_usage_ratio"),
        ("Api", "Requests", "Count", "api_requests"),
        ("Api", "WaitSeconds", "Seconds", "api_wait_seconds"),
        ("4xx", "Errors", "None", "cw_4xx_errors"),
        ("cwlpipe", "RecordsIn", "Count", "cw_cwlpipe_records_in"),
        ("Cwlpipe", "Lag", "Seconds", "cw_cwlpipe_lag_seconds"),
        ("cwlpipe_lambda", "Duration", "Milliseconds", "cw_cwlpipe_lambda_duration_seconds"),
        ("CwlPipe", "Lag", "Seconds", "cwl_pipe_lag_seconds"),  # not the daemon's prefix
    ],
)
def test_metric_names_carry_base_units(namespace: str, name: str, unit: str, expected: str) -> None:
    assert metric_name(namespace, name, unit) == expected


@pytest.mark.parametrize(
    ("dimension", "label"),
    [("@aws.region", "aws_region"), ("FunctionName", "function_name"), ("le", "dimension_le")],
)
def test_label_names(dimension: str, label: str) -> None:
    assert label_name(dimension) == label


def test_summary_sum_and_count_in_base_units() -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples([sample(250, "Milliseconds", Service="cart")] * 2)
    values = scrape(exporter)
    labels = (("service", "cart"),)
    assert values[("serverless_airline_latency_seconds_count", labels)] == 2
    assert values[("serverless_airline_latency_seconds_sum", labels)] == pytest.approx(0.5)


def test_histogram_when_the_definition_asks_for_buckets() -> None:
    exporter = DerivedMetricsExporter(
        histogram_buckets={("ServerlessAirline", "Latency"): (0.1, 1.0)}
    )
    exporter.observe_samples([sample(50, "Milliseconds"), sample(500, "Milliseconds")])
    exporter.observe_samples([sample(5000, "Milliseconds")])
    values = scrape(exporter)
    name = "serverless_airline_latency_seconds_bucket"
    assert values[(name, (("le", "0.1"),))] == 1
    assert values[(name, (("le", "1.0"),))] == 2
    assert values[(name, (("le", "+Inf"),))] == 3
    assert values[("serverless_airline_latency_seconds_sum", ())] == pytest.approx(5.55)


def test_dimension_sets_of_one_metric_share_one_family() -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples(
        [sample(1, Service="cart"), sample(2, Service="cart", Op="add"), sample(3)]
    )
    values = scrape(exporter)
    assert values[("serverless_airline_latency_sum", (("service", "cart"),))] == 1
    assert values[("serverless_airline_latency_sum", (("op", "add"), ("service", "cart")))] == 2
    assert values[("serverless_airline_latency_sum", ())] == 3


def test_label_set_cap_drops_and_counts() -> None:
    exporter = DerivedMetricsExporter(max_label_sets=2)
    exporter.observe_samples([sample(1, RequestId=str(i)) for i in range(5)])
    exporter.observe_samples([sample(1, RequestId="0")])  # an existing series still counts
    values = scrape(exporter)
    series = [key for key in values if key[0] == "serverless_airline_latency_count"]
    assert len(series) == 2
    assert values[("serverless_airline_latency_count", (("request_id", "0"),))] == 2
    dropped = ("cwlpipe_metric_samples_dropped_total", (("metric", "serverless_airline_latency"),))
    assert values[dropped] == 3
    assert exporter.dropped() == {"serverless_airline_latency": 3}


def test_lambda_metrics_by_function() -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_invocations(
        [
            InvocationSample("invocations_total", "orders", 1),
            InvocationSample("invocations_total", "orders", 1),
            InvocationSample("duration_seconds", "orders", 0.2),
            InvocationSample("memory_size_bytes", "orders", 128 * 1024 * 1024),
            InvocationSample("errors_total", "orders", 1, "Runtime.ExitError"),
        ]
    )
    values = scrape(exporter)
    orders = (("function", "orders"),)
    assert values[("cwlpipe_lambda_invocations_total", orders)] == 2
    assert values[("cwlpipe_lambda_duration_seconds_bucket", (*orders, ("le", "0.25")))] == 1
    assert values[("cwlpipe_lambda_duration_seconds_bucket", (*orders, ("le", "0.1")))] == 0
    assert values[("cwlpipe_lambda_memory_size_bytes", orders)] == 128 * 1024 * 1024
    errors = (("error_type", "Runtime.ExitError"), ("function", "orders"))
    assert values[("cwlpipe_lambda_errors_total", errors)] == 1


def test_invalid_emf_documents_are_counted() -> None:
    exporter = DerivedMetricsExporter()
    exporter.count_invalid_emf(3)
    assert scrape(exporter)[("cwlpipe_emf_invalid_total", ())] == 3


def exposition(exporter: DerivedMetricsExporter) -> bytes:
    """What ``GET /metrics`` serves: the daemon's health metrics and the derived ones."""
    return generate_latest(HealthMetrics(exporter).registry)


def series_of(text: bytes) -> Counter[tuple[str, tuple[tuple[str, str], ...]]]:
    found: Counter[tuple[str, tuple[tuple[str, str], ...]]] = Counter()
    for family in text_string_to_metric_families(text.decode()):
        for point in family.samples:
            labels = tuple(sorted((k, v) for k, v in point.labels.items() if v))
            found[(point.name, labels)] += 1
    return found


def daemon_family_names() -> set[str]:
    exporter = DerivedMetricsExporter()
    exporter.observe_invocations(
        InvocationSample(metric, "fn", 1, "Runtime.ExitError") for metric in LAMBDA_METRICS
    )
    registry = HealthMetrics(exporter).registry
    return {family.name for family in registry.collect()}


def test_every_daemon_metric_uses_the_reserved_prefix() -> None:
    names = daemon_family_names()
    assert "cwlpipe_records_in" in names and "cwlpipe_lambda_invocations" in names
    assert [name for name in names if not name.startswith(RESERVED_PREFIX)] == []


def test_derived_metrics_named_like_daemon_metrics_pass_promtool(promtool: str) -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples(
        MetricSample("cwlpipe", name.removeprefix(RESERVED_PREFIX), {}, 1, "None", 0)
        for name in daemon_family_names()
    )
    text = exposition(exporter)
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    assert series_of(text)[("cw_cwlpipe_records_in_count", ())] == 1


def test_dimension_keys_sanitising_to_one_label_get_distinct_labels() -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples([sample(1, **{"a-b": "x", "a_b": "y"})])
    values = scrape(exporter)
    # Keys are taken in sorted order: "a-b" < "a_b", so "a-b" keeps the plain label.
    assert values[("serverless_airline_latency_sum", (("a_b", "x"), ("a_b_2", "y")))] == 1


def test_dimension_keys_sanitising_to_one_label_keep_their_own_series() -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples([sample(1, **{"a_b": "x"}), sample(2, **{"a-b": "x"})])
    values = scrape(exporter)
    assert values[("serverless_airline_latency_sum", (("a_b", "x"),))] == 1
    assert values[("serverless_airline_latency_sum", (("a_b_2", "x"),))] == 2


def test_a_disambiguated_label_never_takes_a_label_already_in_use() -> None:
    assert unique_label("a_b", {"a_b", "a_b_2"}) == "a_b_3"
    assert unique_label("a_b", {"a_b_2"}) == "a_b"


def test_colliding_dimension_keys_emit_no_duplicate_series_and_pass_promtool(
    promtool: str,
) -> None:
    exporter = DerivedMetricsExporter()
    exporter.observe_samples(
        [
            sample(1, **{"a-b": "x", "a_b": "y"}),
            sample(1, **{"a-b": "y", "a_b": "y"}),
            sample(1, **{"a.b": "y"}),
        ]
    )
    text = exposition(exporter)
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()
    duplicates = [key for key, count in series_of(text).items() if count > 1]
    assert duplicates == []
    assert series_of(text)[("serverless_airline_latency_count", (("a_b_3", "y"),))] == 1
