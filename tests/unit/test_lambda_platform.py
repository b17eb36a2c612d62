"""Lambda platform lines: every fixture in shared/reference/lambda parses as its source says."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.lambda_platform import (
    AppLog,
    End,
    ExtensionState,
    FunctionRef,
    InitReport,
    InitStart,
    LogsDropped,
    OutOfMemory,
    Report,
    RestoreReport,
    RuntimeDone,
    RuntimeFault,
    Start,
    TaskTimedOut,
    function_from_log,
    parse_platform_line,
    parse_report,
)

KNOWN_BAD_REPORTS = {"REPORT invalid report log line"}


def fixture_records(shared: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted((shared / "reference" / "lambda").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                records.append({**json.loads(line), "file": path.name})
    return records


def fixture_messages(shared: Path) -> list[str]:
    messages = []
    for record in fixture_records(shared):
        messages += record.get("messages") or ([record["message"]] if "message" in record else [])
    for path in sorted((shared / "reference" / "lambda").glob("*.json")):
        payload = json.loads(path.read_text(encoding="utf-8")).get("payload")
        if isinstance(payload, dict):
            messages += [event["message"] for event in payload.get("logEvents", [])]
    return messages


def test_every_fixture_report_parses_with_its_request_id(shared: Path) -> None:
    reports = [m for m in fixture_messages(shared) if m.startswith("REPORT")]
    assert len(reports) > 25
    for message in reports:
        report = parse_report(message)
        if message in KNOWN_BAD_REPORTS:
            assert report is None
            continue
        assert report is not None, message
        expected_id = message.split("RequestId:")[1].split()[0].split("\\t")[0]
        assert report.request_id == expected_id


def test_every_fixture_json_report_parses(shared: Path) -> None:
    records = [m for m in fixture_messages(shared) if '"platform.report"' in m]
    assert records
    for message in records:
        report = parse_report(message)
        assert report is not None, message
        assert report.duration_ms == json.loads(message)["record"]["metrics"]["durationMs"]


def test_reports_give_the_numbers_datadog_approved(shared: Path) -> None:
    checked = 0
    for record in fixture_records(shared):
        expected = {
            m["name"].rsplit(".", 1)[1]: m["value"] for m in record.get("expect_dd_metrics") or []
        }
        if "duration" not in expected:
            continue
        report = parse_report(record["message"])
        assert report is not None
        assert report.duration_ms / 1000 == pytest.approx(expected["duration"])
        assert report.billed_duration_ms is not None
        assert report.billed_duration_ms / 1000 == pytest.approx(expected["billed_duration"])
        assert report.max_memory_used_mb == expected["max_memory_used"]
        if "init_duration" in expected:
            assert report.init_duration_ms is not None
            assert report.init_duration_ms / 1000 == pytest.approx(expected["init_duration"])
        checked += 1
    assert checked >= 5


def test_reports_give_the_numbers_power_tuning_expects(shared: Path) -> None:
    checked = 0
    for record in fixture_records(shared):
        expect = record.get("expect")
        if not expect or record["file"] != "power_tuning_lambda_log_fixtures.jsonl":
            continue
        messages = record.get("messages") or [record["message"]]
        reports = [r for r in map(parse_report, messages) if r is not None]
        assert len(reports) == 1
        report = reports[0]
        if "duration_ms" in expect:
            assert report.duration_ms == pytest.approx(expect["duration_ms"])
        if "billed_ms" in expect:
            assert report.billed_duration_ms == expect["billed_ms"]
        assert report.init_duration_ms == pytest.approx(expect["init_ms"])
        checked += 1
    assert checked == 3


def test_every_datadog_oom_string_is_recognised(shared: Path) -> None:
    for record in fixture_records(shared):
        if "expect_is_oom" in record:
            event = parse_platform_line(record["message"])
            assert isinstance(event, OutOfMemory) == record["expect_is_oom"], record["message"]


def test_warm_report_with_tabs_and_xray_line() -> None:
    message = (
        "REPORT RequestId: 06e46194-f277-454e-88d3-1dd7e3860eaa\tDuration: 9.14 ms\t"
        "Billed Duration: 10 ms\tMemory Size: 128 MB\tMax Memory Used: 36 MB\t"
        "Init Duration: 190.62 ms\t\nXRAY TraceId: 1-636d1462-33ef10600061cad86dab71c8\t"
        "SegmentId: 7ccb4860675ee485\tSampled: true\t\n"
    )
    assert parse_report(message) == Report(
        request_id="06e46194-f277-454e-88d3-1dd7e3860eaa",
        duration_ms=9.14,
        billed_duration_ms=10,
        memory_size_mb=128,
        max_memory_used_mb=36,
        init_duration_ms=190.62,
        xray_trace_id="1-636d1462-33ef10600061cad86dab71c8",
        xray_segment_id="7ccb4860675ee485",
        xray_sampled=True,
    )


def test_status_error_with_error_type_after_init_duration() -> None:
    report = parse_report(
        "REPORT RequestId: r1\tDuration: 376256.59 ms\tBilled Duration: 376257 ms\t"
        "Memory Size: 10239 MB\tMax Memory Used: 10239 MB\tInit Duration: 551.73 ms\t"
        "Status: error\tError Type: Runtime.OutOfMemory"
    )
    assert report is not None
    assert (report.status, report.error_type, report.cold_start) == (
        "error",
        "Runtime.OutOfMemory",
        True,
    )


def test_status_timeout_without_trailing_tab() -> None:
    report = parse_report(
        "REPORT RequestId: r2\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
        "Memory Size: 1024 MB\tMax Memory Used: 64 MB\tStatus: timeout"
    )
    assert report is not None and report.status == "timeout" and report.error_type is None


@pytest.mark.parametrize(
    "fields",
    [
        "Restore Duration: 398.97 ms\tBilled Restore Duration: 182 ms",
        "Billed Restore Duration: 182 ms\tRestore Duration: 398.97 ms",
    ],
)
def test_snapstart_restore_fields_in_either_order(fields: str) -> None:
    report = parse_report(
        "REPORT RequestId: r3\tDuration: 2338.66 ms\tBilled Duration: 2521 ms\t"
        f"Memory Size: 3009 MB\tMax Memory Used: 173 MB\t{fields}\t"
    )
    assert report is not None
    assert (report.restore_duration_ms, report.billed_restore_duration_ms) == (398.97, 182)
    assert report.init_duration_ms is None and report.cold_start


def test_space_before_tab_and_hundred_ms_billing() -> None:
    report = parse_report(
        "REPORT RequestId: r4 Duration: 26.73 ms\tBilled Duration: 100 ms \tMemory Size: 128 MB"
        "\tMax Memory Used: 56 MB\t"
    )
    assert report is not None
    assert (report.duration_ms, report.billed_duration_ms, report.memory_size_mb) == (
        26.73,
        100,
        128,
    )


def test_double_escaped_tabs_are_read_as_tabs() -> None:
    report = parse_report(
        "REPORT RequestId: r5\\tDuration: 1.76 ms\\tBilled Duration: 2 ms\\tMemory Size: 128 MB"
        "\\tMax Memory Used: 60 MB\\tInit Duration: 127.02 ms\\t\\n"
    )
    assert report is not None
    assert (report.request_id, report.duration_ms, report.billed_duration_ms) == ("r5", 1.76, 2)


def test_managed_instances_report_has_only_duration() -> None:
    report = parse_report("REPORT RequestId: r6\tDuration: 2.52 ms\n")
    assert report == Report("r6", 2.52)


@pytest.mark.parametrize("message", ["REPORT invalid report log line", "REPORTING", "hello", "{}"])
def test_unrelated_lines_are_not_reports(message: str) -> None:
    assert parse_report(message) is None


def test_json_report_reads_tracing_root_parent_and_sampled() -> None:
    message = json.dumps(
        {
            "time": "2022-10-21T14:05:05.766Z",
            "type": "platform.report",
            "record": {
                "requestId": "r7",
                "status": "timeout",
                "metrics": {
                    "durationMs": 5000.0,
                    "billedDurationMs": 5000,
                    "memorySizeMB": 128,
                    "maxMemoryUsedMB": 94,
                    "initDurationMs": 10.5,
                },
                "tracing": {
                    "type": "X-Amzn-Trace-Id",
                    "value": "Root=1-6352a70e-1e2c502e358361800241fd45;Parent=35465b3a9e2f7c6a;Sampled=1",
                },
            },
        }
    )
    report = parse_report(message)
    assert report == Report(
        request_id="r7",
        duration_ms=5000.0,
        billed_duration_ms=5000,
        memory_size_mb=128,
        max_memory_used_mb=94,
        init_duration_ms=10.5,
        status="timeout",
        xray_trace_id="1-6352a70e-1e2c502e358361800241fd45",
        xray_segment_id="35465b3a9e2f7c6a",  # no tracing.spanId: the Parent
        xray_sampled=True,
    )


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("START RequestId: a-1 Version: $LATEST\n", Start("a-1", "$LATEST")),
        ("START RequestId: a-1\tVersion: 72", Start("a-1", "72")),
        ("END RequestId: a-1\n", End("a-1")),
        (
            "INIT_START Runtime Version: python:3.12.v27\tRuntime Version ARN: arn:aws:lambda:x",
            InitStart("python:3.12.v27", "arn:aws:lambda:x"),
        ),
        (
            "INIT_REPORT Init Duration: 150.79 ms\tPhase: init\tStatus: error\t"
            "Error Type: Runtime.UserCodeSyntaxError",
            InitReport(150.79, "init", "error", "Runtime.UserCodeSyntaxError"),
        ),
        (
            "INIT_REPORT Init Duration: 1236.04 ms Phase: init Status: timeout",
            InitReport(1236.04, "init", "timeout"),
        ),
        (
            "RESTORE_START Runtime Version: java:11.v20\tRuntime Version ARN: arn:r",
            InitStart("java:11.v20", "arn:r", restore=True),
        ),
        (
            "RESTORE_REPORT Restore Duration: 1236.04 ms Status: error Error Type: Runtime.ExitError",
            RestoreReport(1236.04, "error", "Runtime.ExitError"),
        ),
        (
            "EXTENSION\tName: datadog-agent\tState: Ready\tEvents: [INVOKE,SHUTDOWN]",
            ExtensionState("datadog-agent", "Ready", ("INVOKE", "SHUTDOWN")),
        ),
        (
            "TELEMETRY\tName: datadog-agent\tState: Subscribed\tTypes: [Platform, Function, Extension]",
            ExtensionState(
                "datadog-agent", "Subscribed", ("Platform", "Function", "Extension"), telemetry=True
            ),
        ),
        (
            "2024-03-04T17:22:38.033Z b70435cc-261c-4438-b9b6-efe4c8f04b21 Task timed out after 3.00 seconds",
            TaskTimedOut("b70435cc-261c-4438-b9b6-efe4c8f04b21", 3.0),
        ),
        (
            "RequestId: c3252230-c73d Error: Runtime exited without providing a reason\nRuntime.ExitError",
            RuntimeFault(
                "c3252230-c73d", "Runtime exited without providing a reason", "Runtime.ExitError"
            ),
        ),
        (
            "RequestId: b86c93c6-e1d0 Process exited before completing request",
            RuntimeFault("b86c93c6-e1d0", "Process exited before completing request", None),
        ),
        (
            "2020-06-09T15:02:26.150Z 7c9567b5-107b FATAL ERROR: CALL_AND_RETRY_LAST Allocation "
            "failed - JavaScript heap out of memory\n\n",
            OutOfMemory("nodejs", "7c9567b5-107b"),
        ),
        (
            '{"time":"2024-05-20T16:29:45.019Z","type":"platform.runtimeDone","record":{"requestId":"r",'
            '"status":"timeout","metrics":{"durationMs":5001.182,"producedBytes":0}}}',
            RuntimeDone("r", "timeout", None, 5001.182, 0),
        ),
        (
            '{"time":"t","type":"platform.initReport","record":{"initializationType":"on-demand",'
            '"phase":"init","status":"success","metrics":{"durationMs":173.778}}}',
            InitReport(173.778, "init", "success", None, "on-demand"),
        ),
        (
            '{"time":"t","type":"platform.logsDropped","record":{"reason":"buffer full",'
            '"droppedRecords":123,"droppedBytes":12345}}',
            LogsDropped("buffer full", 123, 12345),
        ),
        (
            '{"timestamp":"t","level":"INFO","requestId":"r","message":"hello"}',
            AppLog("INFO", "hello", "r"),
        ),
    ],
)
def test_platform_lines_become_typed_events(message: str, expected: object) -> None:
    assert parse_platform_line(message) == expected


def test_every_json_platform_record_type_in_the_fixtures_is_typed(shared: Path) -> None:
    for message in fixture_messages(shared):
        if message.startswith("{") and '"platform.' in message:
            assert parse_platform_line(message) is not None, message


@pytest.mark.parametrize(
    ("group", "stream", "expected"),
    [
        (
            "/aws/lambda/fn",
            "2022/11/10/[$LATEST]26b6a45d574f442ea28438923cbf7bf7",
            FunctionRef("fn", "$LATEST"),
        ),
        (
            "/aws/lambda/fn",
            "2022/11/10/[72]26b6a45d574f442ea28438923cbf7bf7",
            FunctionRef("fn", "72"),
        ),
        ("/aws/lambda/fn", "odd-stream", FunctionRef("fn", None)),
        (
            "/aws/vendedlogs/states/anyLogGroupName",
            "2020/03/05/test-customized-loggroup[$LATEST]20bddfd5a2dc4c6b97ac02800eae90d0",
            FunctionRef("test-customized-loggroup", "$LATEST"),
        ),
        ("API-Gateway-Access-Logs_x/dev", "05d6d898fc9676b8468c3fe74ded9382", None),
        (
            "/aws/lambda/fn",
            "2024/10/21/[$LATEST]not-hex-at-all-but-thirty-two-ch",
            FunctionRef("fn", None),
        ),
    ],
)
def test_function_attribution(group: str, stream: str, expected: FunctionRef | None) -> None:
    assert function_from_log(group, stream) == expected


def test_name_in_the_stream_wins_over_the_lambda_group_name() -> None:
    # A function logging to another function's group (a shared /aws/lambda/... group).
    stream = "2024/10/21/OtherFn[$LATEST]0123456789abcdef0123456789abcdef"
    assert function_from_log("/aws/lambda/some-other-name", stream) == FunctionRef(
        "OtherFn", "$LATEST"
    )


def test_group_name_is_the_fallback_when_the_stream_names_no_function() -> None:
    stream = "2024/10/21/[7]0123456789abcdef0123456789abcdef"
    assert function_from_log("/aws/lambda/some-other-name", stream) == FunctionRef(
        "some-other-name", "7"
    )


@pytest.mark.parametrize(
    "stream",
    [
        "2024/10/21/Other/Fn[$LATEST]0123456789abcdef0123456789abcdef",  # "/" is not a name char
        "2024/10/21/Other Fn[$LATEST]0123456789abcdef0123456789abcdef",
        "2024/10/21/Fn[$LA TEST]0123456789abcdef0123456789abcdef",
        "2024-10-21/Fn[$LATEST]0123456789abcdef0123456789abcdef",
        "2024/10/21/Fn[$LATEST]0123456789ABCDEF0123456789ABCDEF",
        f"2024/10/21/{'F' * 76}[$LATEST]0123456789abcdef0123456789abcdef",
    ],
)
def test_malformed_stream_names_never_override_the_group(stream: str) -> None:
    assert function_from_log("/aws/lambda/fn", stream) == FunctionRef("fn", None)


@settings(max_examples=500)
@given(
    st.one_of(
        st.text(max_size=200),
        st.text(max_size=60).map(lambda t: "REPORT RequestId: x\tDuration: " + t),
        st.text(max_size=60).map(lambda t: "INIT_REPORT Init Duration: " + t),
        st.sampled_from(["1e999", "nan", "-1", "1.2.3"]).map(
            lambda v: f"REPORT RequestId: x Duration: 1 ms Memory Size: {v} MB"
        ),
    )
)
def test_parsers_raise_nothing_on_any_text(text: str) -> None:
    parse_report(text)
    parse_platform_line(text)


def fixture_message(shared: Path, file: str, variant: str) -> str:
    found = [r for r in fixture_records(shared) if r["file"] == file and r["variant"] == variant]
    assert len(found) == 1, (file, variant)
    message: str = found[0]["message"]
    return message


TELEMETRY = "dd_extension_telemetry_api_events.jsonl"


@pytest.mark.parametrize(
    ("variant", "kind"),
    [
        ("platform_start", Start),
        ("platform_runtime_done", RuntimeDone),
        ("platform_report_on_demand", Report),
    ],
)
def test_json_platform_records_carry_the_span_of_their_tracing(
    shared: Path, variant: str, kind: type
) -> None:
    # tracing.spanId (the platform's span of the invocation), not Parent (the caller's)
    event = parse_platform_line(fixture_message(shared, TELEMETRY, variant))
    assert isinstance(event, kind)
    assert isinstance(event, Start | RuntimeDone | Report)
    assert event.xray_trace_id == "1-6352a70e-1e2c502e358361800241fd45"
    assert event.xray_segment_id == "24cd7d670fa455f0"


def test_a_text_report_keeps_its_xray_line(shared: Path) -> None:
    message = fixture_message(
        shared, "dd_forwarder_report_lines.jsonl", "tabs_xray_on_second_line_no_trailing_tab"
    )
    report = parse_report(message)
    assert report is not None
    assert report.xray_trace_id == "1-5d83c0ad-b8eb33a0b1de97d804fac890"
    assert report.xray_segment_id == "31255c3b19bd3637"
    assert report.xray_sampled is True
