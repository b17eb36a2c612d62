"""Documents as the AWS console's stream-to-Elasticsearch blueprint writes them."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.config.service import parse_config
from pipeline.documents import (
    IndexAction,
    build_source,
    day_index,
    encode_action,
    iso_timestamp,
    js_number,
)
from pipeline.lambda_platform import parse_report
from pipeline.process import Processor


def blueprint_cases(shared: Path) -> list[dict[str, Any]]:
    path = shared / "reference" / "lambda" / "aws_blueprint_logs_to_elasticsearch_bulk_outputs.json"
    return list(json.loads(path.read_text(encoding="utf-8"))["cases"])


def bulk_pairs(ndjson: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    lines = [json.loads(line) for line in ndjson.splitlines() if line]
    return list(zip(lines[::2], lines[1::2], strict=True))


def test_every_blueprint_case_gives_the_blueprint_documents(shared: Path) -> None:
    processor = Processor(parse_config("default_route: {retention_days: 30}").core)
    cases = blueprint_cases(shared)
    assert len(cases) == 4
    for case in cases:
        outcome = processor.process(gzip.compress(orjson.dumps(case["input_decoded_payload"])))
        expected = bulk_pairs(case["bulk_body_ndjson"] or "")
        assert len(outcome.actions) == len(expected), case["case"]
        for action, (meta, source) in zip(outcome.actions, expected, strict=True):
            assert action.index == meta["index"]["_index"]
            assert action.id == meta["index"]["_id"]
            ours = dict(action.source)
            ours.pop("lambda", None)  # our additions, beyond the blueprint
            ours.pop("traceId", None)
            ours.pop("spanId", None)
            assert list(ours.items()) == list(source.items()), case["case"]


def test_report_line_gets_lambda_fields_and_trace_id() -> None:
    source = build_source(
        event_id="1",
        timestamp=0,
        message="x",
        owner="o",
        log_group="/aws/lambda/f",
        log_stream="s",
        extracted_fields=None,
        platform=parse_report(
            "REPORT RequestId: r1\tDuration: 9.14 ms\tBilled Duration: 10 ms\tMemory Size: 128 MB\t"
            "Max Memory Used: 36 MB\tInit Duration: 190.62 ms\t\n"
            "XRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\tSegmentId: 7ccb4860675ee485\t"
            "Sampled: true\t\n"
        ),
    )
    assert source["lambda"] == {
        "type": "report",
        "request_id": "r1",
        "duration_ms": 9.14,
        "billed_duration_ms": 10,
        "memory_size_mb": 128,
        "max_memory_used_mb": 36,
        "init_duration_ms": 190.62,
        "status": "success",
        "cold_start": True,
    }
    assert source["traceId"] == "636d146233ef10600061cad86dab71c8"
    assert source["spanId"] == "7ccb4860675ee485"


def common(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "event_id": "1",
        "timestamp": 1_700_000_000_123,
        "message": 'level=info {"a": {"b": 1}, "traceId": "t-1"}',
        "owner": "o",
        "log_group": "g",
        "log_stream": "s",
        "extracted_fields": None,
    }
    arguments.update(overrides)
    return arguments


def test_json_fields_merge_nest_and_off() -> None:
    merged = build_source(**common())
    assert merged["a"] == {"b": 1} and merged["traceId"] == "t-1"
    nested = build_source(**common(json_fields="nest", json_key="app"))
    assert nested["app"] == {"a": {"b": 1}, "traceId": "t-1"} and "a" not in nested
    off = build_source(**common(json_fields="off"))
    assert "a" not in off and "app" not in off and "traceId" not in off
    assert off["@message"] == common()["message"]


def test_at_fields_overwrite_user_keys_in_place() -> None:
    source = build_source(**common(message='{"@id": "spoof", "x": 1}'))
    assert list(source)[:2] == ["@id", "x"] and source["@id"] == "1"


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("9.14", 9.14),
        ("10", 10),
        (" 12 ", 12),
        ("1e3", 1000),
        (".5", 0.5),
        ("+5", 5),
        ("0x10", 16),
        ("-7", -7),
        ("Infinity", None),
        ("NaN", None),
        ("1_000", None),
        ("inf", None),
        ("12abc", None),
        ("", None),
        ("-", None),
        ("9007199254740993", 9007199254740992.0),
    ],
)
def test_js_number(text: str, number: float | None) -> None:
    assert js_number(text) == number
    if number is not None:
        assert type(js_number(text)) is type(number)


def test_day_index_and_iso_timestamp_are_utc() -> None:
    assert day_index("cwl", 1_668_093_027_015) == "cwl-2022.11.10"
    assert iso_timestamp(1_668_093_027_015) == "2022-11-10T15:10:27.015Z"
    assert iso_timestamp(5) == "1970-01-01T00:00:00.005Z"


@pytest.mark.parametrize("text", ["١٢", "²", "12\u0663", "０１"])
def test_digits_of_other_scripts_are_not_numbers(text: str) -> None:
    # JavaScript's Number() reads ASCII digits only: Number("١٢") is NaN
    assert js_number(text) is None


@given(st.text(alphabet="0123456789 +-.eExXoObB_abcdef\t", max_size=20))
def test_the_digit_fast_path_agrees_with_the_grammar(text: str) -> None:
    number = js_number(text)
    if text.isascii() and text.isdigit():
        assert number == int(text) or (len(text) >= 16 and number == float(text))
    if number is not None:
        assert math.isfinite(number)


@pytest.mark.parametrize(
    ("index", "event_id"),
    [("cwl-2026.11.25", "3600000000000000000000"), ("cwl-ü", 'a"b\\c'), ("x", "")],
)
def test_an_action_encodes_as_two_ndjson_lines(index: str, event_id: str) -> None:
    source = {"@message": "hi \u2028", "n": 1}
    encoded = encode_action(IndexAction(index, event_id, source))
    meta, body, rest = encoded.split(b"\n")
    assert rest == b""
    assert orjson.loads(meta) == {"index": {"_index": index, "_id": event_id}}
    assert orjson.loads(body) == source
    assert encode_action(IndexAction(index, event_id, source)) == encoded  # cached head


def test_day_index_is_per_prefix() -> None:
    assert day_index("a", 0) == "a-1970.01.01"
    assert day_index("b", 0) == "b-1970.01.01"
    assert day_index("a", 86_400_000) == "a-1970.01.02"


def _by_the_grammar(text: str) -> int | float | None:
    """js_number without its shortcuts: the grammar alone decides."""
    body = text.strip(" \t\n\r\v\f\u00a0\ufeff\u2028\u2029")
    if re.fullmatch(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", body, re.ASCII):
        value = float(body)
    elif re.fullmatch(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)", body):
        value = float(int(body[2:], {"x": 16, "o": 8, "b": 2}[body[1].lower()]))
    else:
        return None
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


@given(st.text(alphabet="0123456789 +-.eExXoObB_abcdef\t\u00a0١", max_size=24))
def test_the_shortcuts_agree_with_the_grammar(text: str) -> None:
    assert js_number(text) == _by_the_grammar(text)
