"""Log documents carry the ``traceId`` and ``spanId`` of the trace their line names, in the
form span documents have, so Dashboards goes from a span to its logs and back."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import orjson
import pytest

from consumers.config.service import parse_config
from pipeline.documents import build_source
from pipeline.lambda_platform import Start
from pipeline.process import Processor

LAMBDA_GROUP = "/aws/lambda/orders"
LAMBDA_STREAM = "2022/10/21/[$LATEST]0123456789abcdef0123456789abcdef"
DEFAULT = "default_route: {retention_days: 30}"


def documents(
    messages: list[str],
    config: str = DEFAULT,
    group: str = LAMBDA_GROUP,
    stream: str = LAMBDA_STREAM,
) -> list[dict[str, Any]]:
    payload = {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": group,
        "logStream": stream,
        "subscriptionFilters": ["f"],
        "logEvents": [
            {"id": str(n), "timestamp": 1_666_360_000_000 + n, "message": message}
            for n, message in enumerate(messages)
        ],
    }
    outcome = Processor(parse_config(config).core).process(gzip.compress(orjson.dumps(payload)))
    assert outcome.dead_letter is None
    return [action.source for action in outcome.actions]


def link(source: dict[str, Any]) -> tuple[str | None, str | None]:
    return source.get("traceId"), source.get("spanId")


def fixture(shared: Path, file: str, variant: str) -> str:
    path = shared / "reference" / "lambda" / file
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            record = json.loads(line)
            if record.get("variant") == variant:
                message: str = record["message"]
                return message
    raise AssertionError(f"{file} has no {variant}")


def payload_messages(shared: Path, path: Path) -> list[str]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return [event["message"] for event in document.get("payload", document)["logEvents"]]


# -- from the shared fixtures -------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "variant", "trace_id", "span_id"),
    [
        (
            "dd_forwarder_report_lines.jsonl",
            "tabs_xray_on_second_line_no_trailing_tab",
            "5d83c0adb8eb33a0b1de97d804fac890",
            "31255c3b19bd3637",
        ),
        (
            "dd_forwarder_report_lines.jsonl",
            "tabs_xray_trailing_tab_newline (real capture)",
            "5d8bba5adc2932496a65bab91d2d42d4",
            "5ff79d2a06b82ad6",
        ),
    ],
)
def test_a_report_links_by_its_xray_line(
    shared: Path, file: str, variant: str, trace_id: str, span_id: str
) -> None:
    (source,) = documents([fixture(shared, file, variant)])
    assert source["lambda"]["type"] == "report"
    assert link(source) == (trace_id, span_id)


LAMBDA_OFF = DEFAULT + "\nlambda: {enabled: false}"


@pytest.mark.parametrize("config", [DEFAULT, LAMBDA_OFF], ids=["platform-event", "json-record"])
@pytest.mark.parametrize(
    "variant", ["platform_start", "platform_runtime_done", "platform_report_on_demand"]
)
def test_json_platform_records_link_with_the_span_of_their_tracing(
    shared: Path, variant: str, config: str
) -> None:
    # tracing.spanId 24cd7d670fa455f0, not Parent=35465b3a9e2f7c6a (the caller's segment);
    # read from the typed platform event, or from the JSON record when Lambda parsing is off
    message = fixture(shared, "dd_extension_telemetry_api_events.jsonl", variant)
    (source,) = documents([message], config)
    assert link(source) == ("6352a70e1e2c502e358361800241fd45", "24cd7d670fa455f0")


def test_any_platform_record_with_tracing_links(shared: Path) -> None:
    # the documentation's platform.start example, mislabelled platform.initStart
    message = fixture(
        shared,
        "aws_docs_telemetry_schema_examples.jsonl",
        "platform.start (doc example mislabelled type=platform.initStart)",
    )
    (source,) = documents([message])
    assert link(source) == ("62e900b2710d76f009d6e7785905449a", "54565fb41ac79632")


def test_platform_records_without_tracing_get_no_trace_fields(shared: Path) -> None:
    message = fixture(shared, "dd_extension_telemetry_api_events.jsonl", "platform_init_report")
    (source,) = documents([message])
    assert "traceId" not in source and "spanId" not in source


def test_a_header_printed_in_a_line_and_the_report_of_its_request_share_the_trace(
    shared: Path,
) -> None:
    path = shared / "reference" / "lambda" / "dd_forwarder_cloudwatch_logs_event_decoded.json"
    messages = payload_messages(shared, path)
    sources = documents(messages)
    trace = "5e61292ccc1229a4dfbeae1043928548"
    headers = [s for m, s in zip(messages, sources, strict=True) if "Root=1-" in m]
    (report,) = [s for m, s in zip(messages, sources, strict=True) if m.startswith("REPORT")]
    # one header inside the JSON of a debug line, one printed bare
    assert len(headers) == 2
    assert [link(s) for s in headers] == [(trace, "c657b77d9514f70c")] * 2
    assert link(report) == (trace, "07a85e713f6302b2")
    # Datadog's own 64-bit decimal ids are not X-Ray's: those lines name no trace to link
    others = [s for s in sources if s is not report and s not in headers]
    assert len(others) == len(messages) - 3
    assert not [s for s in others if "traceId" in s or "spanId" in s]


def test_powertools_logs_link_by_xray_trace_id(shared: Path) -> None:
    messages = payload_messages(shared, shared / "samples" / "lambda-kinesis.json")
    sources = documents(messages)
    powertools = [s for s in sources if "xray_trace_id" in s]
    assert len(powertools) > 10
    first = powertools[0]
    assert first["xray_trace_id"] == "1-5d500ee0-5b5bdaf3d0c1aefe1d0111b0"
    assert link(first) == ("5d500ee05b5bdaf3d0c1aefe1d0111b0", None)
    assert "spanId" not in first
    for source in powertools:
        assert source["traceId"] == source["xray_trace_id"][2:].replace("-", "")


# -- precedence and absence ---------------------------------------------------------------

XRAY = "1-5759e988-bd862e3fe1be46a994272793"
OTEL = "5759e988bd862e3fe1be46a994272793"
OTHER_XRAY = "1-6352a70e-1e2c502e358361800241fd45"
HEADER = f"Root={OTHER_XRAY};Parent=35465b3a9e2f7c6a;Sampled=1"


def source_of(message: str, **arguments: Any) -> dict[str, Any]:
    return build_source(
        event_id="1",
        timestamp=0,
        message=message,
        owner="o",
        log_group="g",
        log_stream="s",
        extracted_fields=arguments.pop("extracted_fields", None),
        **arguments,
    )


@pytest.mark.parametrize(
    "message",
    [
        "2024-01-01T00:00:00Z\tINFO\tplain text, 1-2-3",
        '{"level": "INFO", "message": "no trace here", "traceId": "t-1"}',
        '{"xray_trace_id": "1-zz", "spanId": "53995c3f42cd8ad8"}',
        "START RequestId: r1 Version: $LATEST",
        "Root=1-5759e988-bd862e3fe1be46a99427279",
    ],
)
def test_a_line_that_names_no_trace_gets_no_trace_fields(message: str) -> None:
    source = source_of(message, json_fields="nest")
    assert "traceId" not in source and "spanId" not in source


def test_a_header_in_a_text_line_links_with_its_parent() -> None:
    source = source_of(f"2024-01-01 INFO calling orders X-Amzn-Trace-Id: {HEADER}")
    assert link(source) == ("6352a70e1e2c502e358361800241fd45", "35465b3a9e2f7c6a")


def test_an_unsampled_trace_still_links() -> None:
    source = source_of(f"_X_AMZN_TRACE_ID=Root={XRAY};Parent=53995c3f42cd8ad8;Sampled=0")
    assert link(source) == (OTEL, "53995c3f42cd8ad8")


def test_the_loggers_own_field_wins_over_a_header_it_printed() -> None:
    # Powertools logging an API Gateway event: the header is the caller's
    message = json.dumps({"xray_trace_id": XRAY, "event": {"headers": {"X-Amzn-Trace-Id": HEADER}}})
    assert link(source_of(message)) == (OTEL, None)


def test_the_platform_event_wins_over_a_header_in_the_line() -> None:
    message = f"START RequestId: r1 Version: $LATEST {HEADER}"
    source = source_of(message, platform=Start("r1", "$LATEST", XRAY, "53995c3f42cd8ad8"))
    assert link(source) == (OTEL, "53995c3f42cd8ad8")


def test_a_json_field_pairs_with_the_span_field_of_the_same_line() -> None:
    message = json.dumps({"trace_id": OTEL.upper(), "span_id": "53995c3f42cd8ad8"})
    assert link(source_of(message, json_fields="nest")) == (OTEL, "53995c3f42cd8ad8")


def test_merge_never_overwrites_the_applications_trace_fields() -> None:
    # the app's own traceId stays as written, and no spanId of another source joins it
    message = json.dumps({"traceId": XRAY, "msg": HEADER})
    source = source_of(message, json_fields="merge")
    assert source["traceId"] == XRAY and "spanId" not in source
    source = source_of(json.dumps({"spanId": "0000000000000001", "msg": HEADER}))
    assert source["spanId"] == "0000000000000001" and "traceId" not in source


def test_an_extracted_trace_id_field_is_not_overwritten() -> None:
    source = source_of(f"GET / {HEADER}", extracted_fields={"traceId": "mine"})
    assert source["traceId"] == "mine" and "spanId" not in source


def test_nest_puts_the_applications_trace_at_the_top_in_otel_form() -> None:
    # aws-embedded-metrics writes the X-Ray id as traceId; nested, the top level is free
    message = json.dumps({"_aws": {}, "traceId": XRAY, "Latency": 3})
    source = source_of(message, json_fields="nest", json_key="app")
    assert source["app"]["traceId"] == XRAY
    assert link(source) == (OTEL, None)


def test_off_still_reads_the_trace_fields_of_a_json_line() -> None:
    source = source_of(json.dumps({"xray_trace_id": XRAY, "n": 1}), json_fields="off")
    assert "n" not in source and "xray_trace_id" not in source
    assert link(source) == (OTEL, None)
