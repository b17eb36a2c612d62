"""Embedded Metric Format: the Powertools examples give the samples their documents state."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from pipeline.emf import parse_emf
from pipeline.metric_sample import MetricSample
from tests.conftest import SHARED


def powertools_examples() -> dict[str, str]:
    if SHARED is None:
        return {}
    path = SHARED / "reference" / "lambda" / "powertools_emf_examples.jsonl"
    examples = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            record = json.loads(line)
            examples[record["variant"]] = record["message"]
    return examples


EXAMPLES = powertools_examples()


def emf(metrics: dict[str, Any], **root: Any) -> str:
    metadata = {"Timestamp": 1_700_000_000_000, "CloudWatchMetrics": [metrics]}
    return orjson.dumps({"_aws": metadata, **root}).decode()


@pytest.mark.parametrize("variant", sorted(EXAMPLES))
def test_powertools_example_gives_one_sample_per_value_and_dimension_set(variant: str) -> None:
    document = json.loads(EXAMPLES[variant])
    result = parse_emf(EXAMPLES[variant])
    assert result is not None and result.invalid_reason is None
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (keys,) = directive["Dimensions"]
    expected = [
        MetricSample(
            directive["Namespace"],
            metric["Name"],
            {key: document[key] for key in keys},
            value,
            metric["Unit"],
            document["_aws"]["Timestamp"],
        )
        for metric in directive["Metrics"]
        for value in document[metric["Name"]]
    ]
    assert list(result.samples) == expected


def test_multi_value_example_gives_each_value() -> None:
    if not EXAMPLES:
        pytest.skip("shared reference absent")
    result = parse_emf(EXAMPLES["add_multi_value_metrics_output.json"])
    assert result is not None
    assert [(s.name, s.value, dict(s.dimensions)) for s in result.samples] == [
        ("TurbineReads", 1.0, {"environment": "dev", "service": "booking"}),
        ("TurbineReads", 8.0, {"environment": "dev", "service": "booking"}),
    ]


def test_metadata_keys_never_become_dimensions() -> None:
    if not EXAMPLES:
        pytest.skip("shared reference absent")
    result = parse_emf(EXAMPLES["add_metadata_output.json"])
    assert result is not None
    (sample,) = result.samples
    assert sample.dimensions == {"service": "booking"}  # booking_id stays metadata


def test_scalar_value_and_every_dimension_set_and_directive() -> None:
    metadata = {
        "Timestamp": 5,
        "CloudWatchMetrics": [
            {
                "Namespace": "A",
                "Dimensions": [["svc"], ["svc", "op"], []],
                "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
            },
            {"Namespace": "B/c", "Dimensions": [], "Metrics": [{"Name": "Hits"}]},
        ],
    }
    message = orjson.dumps(
        {"_aws": metadata, "svc": "cart", "op": "add", "Latency": 12, "Hits": [1, 2]}
    ).decode()
    result = parse_emf(message)
    assert result is not None
    assert [(s.namespace, s.name, dict(s.dimensions), s.value, s.unit) for s in result.samples] == [
        ("A", "Latency", {"svc": "cart"}, 12.0, "Milliseconds"),
        ("A", "Latency", {"svc": "cart", "op": "add"}, 12.0, "Milliseconds"),
        ("A", "Latency", {}, 12.0, "Milliseconds"),
        ("B/c", "Hits", {}, 1.0, "None"),
        ("B/c", "Hits", {}, 2.0, "None"),
    ]


def test_a_line_without_aws_metadata_is_not_emf() -> None:
    assert parse_emf('{"level": "INFO", "message": "_aws"}') is None
    assert parse_emf('plain text "_aws"') is None


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ('{"_aws": 1}', "_aws must be an object"),
        ('{"_aws": {"CloudWatchMetrics": []}}', "Timestamp"),
        ('{"_aws": {"Timestamp": 1}}', "CloudWatchMetrics must be an array"),
        (emf({"Namespace": "bad ns", "Dimensions": [], "Metrics": []}), "Namespace"),
        (
            emf({"Namespace": "N", "Dimensions": [["k"]], "Metrics": []}),
            "'k' must be a root member",
        ),
        (
            emf({"Namespace": "N", "Dimensions": [["k"]], "Metrics": []}, k=3),
            "'k' must be a root member holding a string",
        ),
        (
            emf({"Namespace": "N", "Dimensions": [[f"k{i}" for i in range(31)]], "Metrics": []}),
            "at most 30",
        ),
        (emf({"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M"}]}), "'M' must be"),
        (
            emf({"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M"}]}, M="1"),
            "holding numbers",
        ),
        (
            emf(
                {"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M"}]}, M=list(range(101))
            ),
            "1 to 100 values",
        ),
        (
            emf(
                {"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M", "Unit": "ms"}]}, M=1
            ),
            "not a CloudWatch unit",
        ),
        (
            emf(
                {
                    "Namespace": "N",
                    "Dimensions": [],
                    "Metrics": [{"Name": "M", "StorageResolution": 5}],
                },
                M=1,
            ),
            "StorageResolution",
        ),
        (
            emf({"Namespace": "N", "Dimensions": [], "Metrics": [{"Name": "M"}] * 101}, M=1),
            "at most 100 metric definitions",
        ),
    ],
)
def test_invalid_document_yields_no_samples_and_its_reason(message: str, reason: str) -> None:
    result = parse_emf(message)
    assert result is not None
    assert result.samples == ()
    assert result.invalid_reason is not None and reason in result.invalid_reason


# A Lambda runtime's text-format prefix before the document (reference/lambda-formats.md §2.5).
REQUEST_ID = "3f1c5a0e-8b2d-4c55-9c1e-5d0b1a2e7f44"
SHOP = emf(
    {"Namespace": "Shop", "Dimensions": [["service"]], "Metrics": [{"Name": "Orders"}]},
    service="cart",
    Orders=2,
)


def orders(message: str) -> list[tuple[str, float, dict[str, str]]]:
    result = parse_emf(message)
    assert result is not None and result.invalid_reason is None, message
    return [(s.name, s.value, dict(s.dimensions)) for s in result.samples]


def test_document_after_node_console_log_prefix_is_emf() -> None:
    line = f"2024-10-25T19:54:47.253Z\t{REQUEST_ID}\tINFO\t{SHOP}\n"
    assert orders(line) == [("Orders", 2.0, {"service": "cart"})]


def test_document_after_python_logging_prefix_is_emf() -> None:
    line = f"[INFO]\t2024-10-25T19:54:47.253Z\t{REQUEST_ID}\t{SHOP}\n"
    assert orders(line) == [("Orders", 2.0, {"service": "cart"})]


@pytest.mark.parametrize(
    "line",
    [
        f"2024-10-25T19:54:47.253Z\tundefined\tINFO\t{SHOP}\n",  # Node, written during init
        f"[WARNING]\t2024-10-25T19:54:47.253Z\t\t{SHOP}\n",  # Python, no request yet
    ],
)
def test_prefix_written_outside_a_request_still_carries_emf(line: str) -> None:
    assert orders(line) == [("Orders", 2.0, {"service": "cart"})]


def test_powertools_document_after_node_prefix_gives_the_same_samples() -> None:
    if not EXAMPLES:
        pytest.skip("shared reference absent")
    document = EXAMPLES["add_multi_value_metrics_output.json"]
    prefixed = parse_emf(f"2024-10-25T19:54:47.253Z\t{REQUEST_ID}\tINFO\t{document}\n")
    assert prefixed == parse_emf(document)


def test_invalid_document_after_prefix_is_reported_like_a_bare_one() -> None:
    line = f'2024-10-25T19:54:47.253Z\t{REQUEST_ID}\tINFO\t{{"_aws": {{"Timestamp": 1}}}}'
    result = parse_emf(line)
    assert result is not None
    assert result.invalid_reason == "_aws.CloudWatchMetrics must be an array"


@pytest.mark.parametrize(
    "line",
    [
        f"metrics: {SHOP}",  # free text before the object
        f"2024-10-25T19:54:47.253Z {REQUEST_ID} INFO {SHOP}",  # spaces, not the runtime's tabs
        f"yesterday\t{REQUEST_ID}\tINFO\t{SHOP}",  # no ISO time
        f"2024-10-25T19:54:47.253Z\t{REQUEST_ID}\tinfo level\t{SHOP}",  # no level
        f"2024-10-25T19:54:47.253Z\t{REQUEST_ID}\tINFO\tsaved {SHOP}",  # object not first
        f"[INFO]\t2024-10-25T19:54:47.253Z\trequest id\t{SHOP}",  # blank in the request id
    ],
)
def test_document_after_anything_but_the_runtime_prefix_is_not_emf(line: str) -> None:
    assert parse_emf(line) is None
