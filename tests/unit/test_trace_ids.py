"""Trace ids in OpenTelemetry's form, and the trace headers log lines print."""

from __future__ import annotations

import time

import pytest

from pipeline.trace_ids import (
    TraceContext,
    find_trace_header,
    is_span_id,
    otel_trace_id,
    trace_context,
)

XRAY = "1-5759e988-bd862e3fe1be46a994272793"
OTEL = "5759e988bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (XRAY, OTEL),
        ("1-5759E988-BD862E3FE1BE46A994272793", OTEL),
        (OTEL.upper(), OTEL),
        ("1-5759e988-bd862e3fe1be46a99427279", None),  # one digit short
        ("2-5759e988-bd862e3fe1be46a994272793", None),  # unknown version
        ("1-636d-33ef", None),
        ("", None),
    ],
)
def test_otel_trace_id(given: str, expected: str | None) -> None:
    assert otel_trace_id(given) == expected


def test_span_ids_are_sixteen_hex_digits() -> None:
    assert is_span_id("53995c3f42cd8ad8")
    assert not is_span_id("53995c3f42cd8ad")
    assert not is_span_id("53995c3f42cd8adg")


def test_trace_context_keeps_the_trace_when_the_span_is_not_an_id() -> None:
    assert trace_context(XRAY, "53995C3F42CD8AD8") == TraceContext(OTEL, "53995c3f42cd8ad8")
    assert trace_context(XRAY, "7ccb") == TraceContext(OTEL, None)
    assert trace_context(XRAY, 12) == TraceContext(OTEL, None)


@pytest.mark.parametrize("given", [None, 42, "t-1", {"Root": XRAY}])
def test_trace_context_of_anything_else_is_none(given: object) -> None:
    assert trace_context(given, "53995c3f42cd8ad8") is None


@pytest.mark.parametrize(
    ("text", "span"),
    [
        (f"X-Amzn-Trace-Id: Root={XRAY};Parent=53995c3f42cd8ad8;Sampled=1", "53995c3f42cd8ad8"),
        (f"_X_AMZN_TRACE_ID=Root={XRAY};Parent=53995C3F42CD8AD8;Sampled=0", "53995c3f42cd8ad8"),
        (f"'X-Amzn-Trace-Id': 'Root={XRAY}'", None),
        (f"Self=1-67891234-12456789abcdef012345678;Root={XRAY}", None),
        (f"Parent=53995c3f42cd8ad8;Sampled=1;Root={XRAY}", "53995c3f42cd8ad8"),
        # OpenTelemetry's propagators trim blanks around the fields, so some printers add them
        (f"trace Root={XRAY}; Parent=53995c3f42cd8ad8; Sampled=1", "53995c3f42cd8ad8"),
        (f"Parent=53995c3f42cd8ad8;  Root={XRAY}", "53995c3f42cd8ad8"),
    ],
)
def test_a_header_anywhere_in_a_line(text: str, span: str | None) -> None:
    assert find_trace_header(text) == TraceContext(OTEL, span)


def test_a_parent_of_another_header_on_the_line_is_not_taken() -> None:
    text = f"from Root={XRAY};Sampled=1 to Parent=53995c3f42cd8ad8"
    assert find_trace_header(text) == TraceContext(OTEL, None)


def test_the_first_valid_root_wins_over_a_broken_one() -> None:
    text = f"Root=1-zz Root={XRAY};Parent=53995c3f42cd8ad8"
    assert find_trace_header(text) == TraceContext(OTEL, "53995c3f42cd8ad8")


@pytest.mark.parametrize(
    "text", ["no header", "Root=1-5759e988-bd862e3fe1be46a9942727930", "Root=1-zz"]
)
def test_no_header_is_none(text: str) -> None:
    assert find_trace_header(text) is None


def test_a_long_line_with_a_broken_root_is_read_in_linear_time() -> None:
    # The former expression let any run of characters precede Root=: 4 s at 32 KB.
    text = "x" * 1_000_000 + "Root=1-zz" + "y" * 1_000_000 + f"Root={XRAY}"
    began = time.process_time()
    assert find_trace_header(text) == TraceContext(OTEL, None)
    assert time.process_time() - began < 0.5
