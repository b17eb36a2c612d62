"""The Prometheus export: names, base units, summaries or histograms, the label-set cap."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from consumers.prometheus.export import DerivedMetricsExporter
from pipeline.invocations import InvocationSample
from pipeline.metric_sample import MetricSample
from pipeline.prometheus_names import label_name, metric_name, snake_case


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
