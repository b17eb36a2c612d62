"""Invocation metrics per function: Datadog's approved numbers, and its known misses fixed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from pipeline.invocations import (
    LAMBDA_METRICS,
    InvocationSample,
    InvocationTracker,
    LambdaPrices,
)
from pipeline.lambda_platform import FunctionRef, parse_platform_line

FUNCTION = FunctionRef("orders", "$LATEST")
STREAM = "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"
MIB = 1024 * 1024
# Datadog's names -> ours, and the factor from their unit to ours.
DATADOG = {
    "duration": ("duration_seconds", 1.0),
    "billed_duration": ("billed_duration_seconds", 1.0),
    "max_memory_used": ("max_memory_used_bytes", MIB),
    "init_duration": ("init_duration_seconds", 1.0),
    "estimated_cost": ("estimated_cost_usd_total", 1.0),
    "timeouts": ("timeouts_total", 1.0),
    "out_of_memory": ("out_of_memory_total", 1.0),
}


def observe(lines: list[str], tracker: InvocationTracker | None = None) -> list[InvocationSample]:
    tracker = tracker or InvocationTracker()
    samples: list[InvocationSample] = []
    for line in lines:
        event = parse_platform_line(line)
        if event is not None:
            samples += tracker.observe(FUNCTION, STREAM, event)
    return samples


def totals(samples: list[InvocationSample]) -> Counter[str]:
    counted: Counter[str] = Counter()
    for sample in samples:
        counted[sample.metric] += sample.value
    return counted


def datadog_records(shared: Path) -> list[dict[str, Any]]:
    records = []
    for path in sorted((shared / "reference" / "lambda").glob("dd_forwarder_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                record = json.loads(line)
                if record.get("expect_dd_metrics"):
                    records.append(record)
    return records


def test_every_datadog_approved_number_is_reproduced(shared: Path) -> None:
    records = datadog_records(shared)
    assert len(records) >= 8
    for record in records:
        samples = observe([record["message"]])
        ours = {sample.metric: sample.value for sample in samples}
        for expected in record["expect_dd_metrics"]:
            name, factor = DATADOG[expected["name"].rsplit(".", 1)[1]]
            assert ours.get(name) == pytest.approx(expected["value"] * factor, rel=1e-9), (
                record["variant"],
                name,
            )
        cold = any("cold_start:true" in m["tags"] for m in record["expect_dd_metrics"])
        assert ("cold_starts_total" in ours) is cold, record["variant"]


def test_every_metric_name_is_declared() -> None:
    samples = observe(
        [
            "START RequestId: r1 Version: $LATEST",
            "REPORT RequestId: r1\tDuration: 3016.78 ms\tBilled Duration: 3100 ms\tMemory Size: 128 MB"
            "\tMax Memory Used: 128 MB\tInit Duration: 84.00 ms\tRestore Duration: 1 ms\tStatus: timeout",
            "INIT_REPORT Init Duration: 9999.79 ms\tPhase: init\tStatus: timeout",
            "2024-03-04T17:22:38.033Z 0000abcd-1e2c Task timed out after 3.00 seconds",
        ]
    )
    assert {s.metric for s in samples} == set(LAMBDA_METRICS)


def test_new_style_timeout_in_the_report_is_counted() -> None:
    # Datadog's forwarder only counts the old "Task timed out" line and misses this one.
    samples = observe(
        [
            "REPORT RequestId: 13222b1e-f16b-4550-89df-869ab0a9806d\tDuration: 3000.00 ms\t"
            "Billed Duration: 3000 ms\tMemory Size: 1024 MB\tMax Memory Used: 64 MB\tStatus: timeout"
        ]
    )
    counted = totals(samples)
    assert counted["timeouts_total"] == 1
    assert [s.error_type for s in samples if s.metric == "errors_total"] == ["Sandbox.Timedout"]


def test_old_timeout_line_after_the_report_is_counted_once() -> None:
    lines = [
        "END RequestId: 72be2647-3758-4464-a79d-0ac9e518cab2",
        "REPORT RequestId: 72be2647-3758-4464-a79d-0ac9e518cab2\tDuration: 601100.79 ms\t"
        "Billed Duration: 601000 ms\tMemory Size: 256 MB\tMax Memory Used: 42 MB",
        "2021-02-23T04:41:47.519Z 72be2647-3758-4464-a79d-0ac9e518cab2 Task timed out after 600.10 seconds",
    ]
    assert totals(observe(lines))["timeouts_total"] == 1


def test_timeout_line_reports_the_configured_timeout_every_time() -> None:
    # the alert on durations near the timeout compares with this gauge (configs/prometheus)
    line = "2021-02-23T04:41:47.519Z 72be2647-3758-4464-a79d-0ac9e518cab2 Task timed out after {} seconds"
    samples = observe([line.format("600.10"), line.format("900.00")])
    gauges = [(s.function, s.value) for s in samples if s.metric == "timeout_seconds"]
    assert gauges == [(FUNCTION.name, 600.10), (FUNCTION.name, 900.0)]
    assert totals(samples)["timeouts_total"] == 1


def test_json_runtime_done_and_report_timeouts_count_once() -> None:
    lines = [
        '{"time":"2026-07-09T06:05:50.562Z","type":"platform.runtimeDone","record":'
        '{"requestId":"aec7","status":"timeout","metrics":{"durationMs":5001.182,"producedBytes":0}}}',
        '{"time":"2026-07-09T06:05:50.581Z","type":"platform.report","record":{"requestId":"aec7",'
        '"metrics":{"durationMs":5000.0,"billedDurationMs":5000,"memorySizeMB":128,'
        '"maxMemoryUsedMB":94},"status":"timeout"}}',
    ]
    counted = totals(observe(lines))
    assert (counted["timeouts_total"], counted["errors_total"], counted["invocations_total"]) == (
        1,
        1,
        1,
    )


def test_timeouts_of_different_requests_are_all_counted() -> None:
    lines = [
        f"2024-03-04T17:22:38.033Z {i:08x}-1e2c-11e7-93e6-6705ceb4c1cc Task timed out after 3.00 seconds"
        for i in range(3)
    ]
    assert totals(observe(lines))["timeouts_total"] == 3


def test_errors_are_counted_by_error_type() -> None:
    lines = [
        "REPORT RequestId: a\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 60 MB\tStatus: error\tError Type: Runtime.ExitError",
        "REPORT RequestId: b\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 60 MB\tStatus: error\tError Type: Extension.Crash",
        "RequestId: c Error: Runtime exited without providing a reason\nRuntime.ExitError",
    ]
    errors = Counter(s.error_type for s in observe(lines) if s.metric == "errors_total")
    assert errors == {"Runtime.ExitError": 2, "Extension.Crash": 1}


def test_fault_line_and_new_style_report_of_one_request_count_one_error() -> None:
    lines = [
        "RequestId: c Error: Runtime exited with error: exit status 1\nRuntime.ExitError",
        "REPORT RequestId: c\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 60 MB\tStatus: error\tError Type: Runtime.ExitError",
    ]
    assert totals(observe(lines))["errors_total"] == 1


@pytest.mark.parametrize(
    "lines",
    [
        pytest.param(
            [
                "REPORT RequestId: o1\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
                "Max Memory Used: 100 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
            ],
            id="Runtime.OutOfMemory",
        ),
        pytest.param(
            ["RequestId: o1 Error: Runtime exited with error: signal: killed\nRuntime.ExitError"],
            id="signal-killed",
        ),
        pytest.param(
            [
                "REPORT RequestId: o1\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
                "Max Memory Used: 128 MB"
            ],
            id="max-used-equals-size",
        ),
        pytest.param(
            [
                "START RequestId: o1 Version: $LATEST",
                "Traceback (most recent call last):\nMemoryError",
                "RequestId: o1 Error: Runtime exited with error: signal: killed\nRuntime.ExitError",
                "REPORT RequestId: o1\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
                "Max Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory",
            ],
            id="every-signal-of-one-request",
        ),
    ],
)
def test_out_of_memory_is_counted_once_per_request(lines: list[str]) -> None:
    assert totals(observe(lines))["out_of_memory_total"] == 1


def test_oom_message_without_request_id_belongs_to_the_request_in_flight() -> None:
    lines = [
        "START RequestId: x1 Version: $LATEST",
        "FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - JavaScript heap out of memory",
        "REPORT RequestId: x1\tDuration: 5 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 128 MB",
        "START RequestId: x2 Version: $LATEST",
        "FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - JavaScript heap out of memory",
    ]
    assert totals(observe(lines))["out_of_memory_total"] == 2


def test_cost_uses_billed_duration_and_the_configured_architecture() -> None:
    report = (
        "REPORT RequestId: c1\tDuration: 3499.1 ms\tBilled Duration: 3500 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 60 MB"
    )
    x86 = totals(observe([report]))["estimated_cost_usd_total"]
    assert x86 == pytest.approx(7.49168125e-06)  # the reference's worked example
    arm = InvocationTracker(architectures=[("ord*", "arm64")])
    cost = totals(observe([report], arm))["estimated_cost_usd_total"]
    assert cost == pytest.approx(0.0000002 + 3.5 * 0.125 * 0.0000133334)


def test_prices_are_configurable() -> None:
    tracker = InvocationTracker(prices=LambdaPrices(request_usd=0, x86_64_gb_second_usd=1.0))
    report = "REPORT RequestId: c1\tDuration: 1 ms\tBilled Duration: 2000 ms\tMemory Size: 512 MB\tMax Memory Used: 60 MB"
    assert totals(observe([report], tracker))["estimated_cost_usd_total"] == pytest.approx(1.0)


def test_cold_start_from_init_or_restore_and_snapstart_billing() -> None:
    lines = [
        "REPORT RequestId: s1\tDuration: 2338.66 ms\tBilled Duration: 2521 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 100 MB\tRestore Duration: 428.06 ms\tBilled Restore Duration: 182 ms",
        "REPORT RequestId: s2\tDuration: 1 ms\tBilled Duration: 1 ms\tMemory Size: 512 MB\t"
        "Max Memory Used: 100 MB",
    ]
    samples = observe(lines)
    counted = totals(samples)
    assert counted["cold_starts_total"] == 1
    assert counted["restore_duration_seconds"] == pytest.approx(0.42806)
    utilisation = [s.value for s in samples if s.metric == "memory_utilisation_ratio"]
    assert utilisation == [100 / 512, 100 / 512]


def test_managed_instances_report_gives_duration_without_cost() -> None:
    line = (
        '{"time":"2026-01-08T18:22:35.343Z","type":"platform.report","record":'
        '{"requestId":"4f42","metrics":{"durationMs":2.524},"status":"success"}}'
    )
    counted = totals(observe([line]))
    assert counted["duration_seconds"] == pytest.approx(0.002524)
    assert "estimated_cost_usd_total" not in counted


def test_failed_init_is_counted_by_status() -> None:
    samples = observe(["INIT_REPORT Init Duration: 1236.04 ms Phase: init Status: timeout"])
    assert samples == [InvocationSample("init_errors_total", "orders", 1.0, "timeout")]


def test_memory_of_counted_requests_is_bounded() -> None:
    tracker = InvocationTracker(remember=10)

    def timed_out(i: int) -> float:
        line = f"2024-03-04T17:22:38.033Z {i:08x}-1e2c-11e7-93e6-6705ceb4c1cc Task timed out after 3.00 seconds"
        return totals(observe([line], tracker))["timeouts_total"]

    assert sum(timed_out(i) for i in range(1000)) == 1000
    assert timed_out(999) == 0  # still remembered
    assert timed_out(0) == 1  # long forgotten: memory stays bounded
