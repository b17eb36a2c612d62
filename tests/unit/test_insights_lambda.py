"""The Lambda console's standard queries and the discovered fields of Lambda logs
(``@type``, ``@requestId``, ``@duration``, ``@billedDuration``, ``@initDuration``,
``@memorySize``/``@maxMemoryUsed`` in bytes, ``@xrayTraceId``, ``@xraySegmentId``),
over REPORT lines in the format Lambda writes them (tab-separated, the X-Ray line after
a newline), plus the everyday queries of the issue.

Sources: Grafana's CloudWatch cheat sheet ``lambdaSamples`` (grafana/grafana-cloudwatch-
datasource src/components/CheatSheet/sampleQueries.ts: latency by bin(5m), the
over-provisioned memory query, ``sort by @billedDuration desc``), the issue's queries,
aws-samples/serverless-snippets (``not like /(?i)(Init Duration)/``), the community
gist sats17/6150cfc1 (``@initDuration``), aws/aws-sdk-js-v3#6928 (the REPORT parse
regex) and the REPORT lines of the shared reference corpus. Expectations are computed
with the statistics module from the same numbers the lines are written from.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass

import orjson
import pytest

from pipeline.insights import run_query
from tests.insights_events import STREAM, T0, Event, column, documents, stamp

MB = 1000 * 1000  # "AWS's own console query divides by 1000/1000" (the issue)


@dataclass(frozen=True)
class Invocation:
    offset: int
    request_id: str
    duration: float
    billed: int
    memory: int
    used: int
    init: float | None = None
    trace: tuple[str, str] | None = None

    def report(self) -> str:
        line = (
            f"REPORT RequestId: {self.request_id}\tDuration: {self.duration} ms\t"
            f"Billed Duration: {self.billed} ms\tMemory Size: {self.memory} MB\t"
            f"Max Memory Used: {self.used} MB\t"
        )
        if self.init is not None:
            line += f"Init Duration: {self.init} ms\t"
        line += "\n"
        if self.trace is not None:
            line += f"XRAY TraceId: {self.trace[0]}\tSegmentId: {self.trace[1]}\tSampled: true\t\n"
        return line


INVOCATIONS = [
    Invocation(0, "8c1b5f3e-2b7e-4a4c-9d0e-1f2a3b4c5d6e", 102.25, 103, 128, 70, 150.53,
               ("1-5d1a9d25-3c5b1a9e8f0a2b4c6d8e0f12", "0a1b2c3d4e5f6789")),
    Invocation(40_000, "57f231fb-1730-4395-85cb-4f71bd2b87b8", 79.67, 80, 128, 73),
    Invocation(95_000, "1c8df7d3-a9b0-46da-9778-518e6eca8125", 2.75, 3, 128, 56),
    Invocation(170_000, "4ce9340a-b765-490f-ad8a-02ab3415e2bf", 26.73, 27, 128, 75),
    Invocation(320_000, "814ba7cb-071e-4181-9a09-fa41db5bccad", 1711.87, 1800, 128, 98, None,
               ("1-5d83c0ad-b8eb33a0b1de97d804fac890", "31255c3b19bd3637")),
    Invocation(390_000, "fe1467d6-1458-4e20-8e40-9aaa4be7a0f4", 3470.65, 3500, 128, 89),
    Invocation(610_000, "8edab1f8-7d34-4a8e-a965-15ccbbb78d4c", 0.81, 1, 128, 90, 1234),
    Invocation(650_000, "a1b2c3d4-0000-4000-8000-000000000001", 15.74, 16, 128, 56, 130.49),
]  # fmt: skip


def _iso(ms: int) -> str:
    """The Python runtime's time in its log lines: 2019-07-02T04:35:21.531Z."""
    return stamp(ms).replace(" ", "T") + "Z"


def _events() -> list[Event]:
    events = []
    for inv in INVOCATIONS:
        start = T0 + inv.offset
        rid = inv.request_id
        events.append(Event(f"START RequestId: {rid} Version: $LATEST\n", start))
        events.append(Event(f"[INFO]\t{_iso(start + 1)}\t{rid}\tprocessing order\n", start + 1))
        if inv.duration > 100:
            events.append(Event(f"[WARNING]\t{_iso(start + 2)}\t{rid}\tslow\n", start + 2))
        events.append(Event(f"END RequestId: {rid}\n", start + 3))
        events.append(Event(inv.report(), start + 4))
    return events


EVENTS = documents(_events())


def test_the_reports_are_indexed_as_platform_lines() -> None:
    # guards the fixture: the pipeline recognised every REPORT line
    reports = [d for d in EVENTS if d.get("lambda", {}).get("type") == "report"]
    assert len(reports) == len(INVOCATIONS)


def test_latency_statistics_for_five_minute_intervals() -> None:
    query = """filter @type = "REPORT" |
    stats avg(@duration), max(@duration), min(@duration) by bin(5m)"""
    rows = run_query(query, EVENTS)
    groups: dict[str, list[float]] = defaultdict(list)
    for inv in INVOCATIONS:
        groups[stamp((T0 + inv.offset + 4) // 300_000 * 300_000)].append(inv.duration)
    assert {r["bin(5m)"]: r for r in rows} == {
        key: {
            "bin(5m)": key,
            "avg(@duration)": pytest.approx(statistics.mean(values)),
            "max(@duration)": max(values),
            "min(@duration)": min(values),
        }
        for key, values in groups.items()
    }


def test_over_provisioned_memory() -> None:
    # the text of the console query, "provisonedMemoryMB" spelling included
    query = """filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB,
      min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB,
      avg(@maxMemoryUsed / 1000 / 1000) as avgMemoryUsedMB,
      max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB,
      provisonedMemoryMB - maxMemoryUsedMB as overProvisionedMB"""
    used = [inv.used for inv in INVOCATIONS]
    provisioned = max(inv.memory for inv in INVOCATIONS)
    assert run_query(query, EVENTS) == [
        {
            "provisonedMemoryMB": pytest.approx(provisioned),
            "smallestMemoryRequestMB": pytest.approx(min(used)),
            "avgMemoryUsedMB": pytest.approx(statistics.mean(used)),
            "maxMemoryUsedMB": pytest.approx(max(used)),
            "overProvisionedMB": pytest.approx(provisioned - max(used)),
        }
    ]


def test_over_provisioned_memory_as_grafana_spells_it() -> None:
    query = """filter @type = "REPORT"
          | stats max(@memorySize / 1000 / 1000) as provisionedMemoryMB,
            min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB,
            avg(@maxMemoryUsed / 1000 / 1000) as avgMemoryUsedMB,
            max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB,
            provisionedMemoryMB - maxMemoryUsedMB as overProvisionedMB
        """
    (row,) = run_query(query, EVENTS)
    assert row["overProvisionedMB"] == pytest.approx(128 - max(inv.used for inv in INVOCATIONS))


def test_the_most_expensive_requests() -> None:
    query = """filter @type = "REPORT"
        | fields @requestId, @billedDuration
        | sort by @billedDuration desc"""
    expected = sorted(INVOCATIONS, key=lambda inv: inv.billed, reverse=True)
    rows = run_query(query, EVENTS)
    assert rows == [
        {"@requestId": inv.request_id, "@billedDuration": inv.billed} for inv in expected
    ]
    assert all(list(row) == ["@requestId", "@billedDuration"] for row in rows)


def test_report_fields_of_a_cold_start_with_x_ray() -> None:
    inv = INVOCATIONS[0]
    query = """filter @requestId = "8c1b5f3e-2b7e-4a4c-9d0e-1f2a3b4c5d6e" and @type = "REPORT"
    | fields @type, @requestId, @duration, @billedDuration, @memorySize, @maxMemoryUsed,
      @initDuration, @xrayTraceId, @xraySegmentId, @logStream"""
    assert run_query(query, EVENTS) == [
        {
            "@type": "REPORT",
            "@requestId": inv.request_id,
            "@duration": pytest.approx(inv.duration),
            "@billedDuration": inv.billed,
            "@memorySize": inv.memory * MB,
            "@maxMemoryUsed": inv.used * MB,
            "@initDuration": pytest.approx(inv.init),
            "@xrayTraceId": inv.trace[0],
            "@xraySegmentId": inv.trace[1],
            "@logStream": STREAM,
        }
    ]


def test_report_fields_of_a_warm_start_without_x_ray() -> None:
    inv = INVOCATIONS[1]
    rows = run_query(
        f'filter @type = "REPORT" and @requestId = "{inv.request_id}"'
        " | fields @duration, @initDuration, @xrayTraceId, @maxMemoryUsed",
        EVENTS,
    )
    assert rows == [{"@duration": pytest.approx(inv.duration), "@maxMemoryUsed": inv.used * MB}]


def test_memory_in_megabytes() -> None:
    rows = run_query(
        'filter @type = "REPORT" | fields @maxMemoryUsed / 1000 / 1000 as usedMB,'
        " @memorySize / 1000 / 1000 as sizeMB | sort @timestamp asc",
        EVENTS,
    )
    assert rows == [
        {"usedMB": pytest.approx(i.used), "sizeMB": pytest.approx(i.memory)} for i in INVOCATIONS
    ]


def test_cold_starts() -> None:
    cold = [inv.init for inv in INVOCATIONS if inv.init is not None]
    rows = run_query(
        'filter @type = "REPORT" and ispresent(@initDuration)'
        " | stats count(*) as coldStarts, avg(@initDuration) as avgInit, max(@initDuration) as maxInit",
        EVENTS,
    )
    assert rows == [
        {
            "coldStarts": len(cold),
            "avgInit": pytest.approx(statistics.mean(cold)),
            "maxInit": max(cold),
        }
    ]


def test_init_duration_threshold() -> None:
    # gist sats17/6150cfc1: filter @initDuration > 5
    rows = run_query("filter @initDuration > 140 | fields @requestId | sort @timestamp asc", EVENTS)
    assert column(rows, "@requestId") == [
        inv.request_id for inv in INVOCATIONS if inv.init is not None and inv.init > 140
    ]


def test_warm_starts_by_minute() -> None:
    # aws-samples/serverless-snippets: filter @type = "REPORT" and @message not like
    # /(?i)(Init Duration)/ | stats ... by bin(1m)
    rows = run_query(
        'filter @type = "REPORT" and @message not like /(?i)(Init Duration)/'
        " | stats count(*) as warm, avg(@duration) as avgWarm by bin(1m)",
        EVENTS,
    )
    groups: dict[str, list[float]] = defaultdict(list)
    for inv in INVOCATIONS:
        if inv.init is None:
            groups[stamp((T0 + inv.offset + 4) // 60_000 * 60_000)].append(inv.duration)
    assert {r["bin(1m)"]: (r["warm"], r["avgWarm"]) for r in rows} == {
        k: (len(v), pytest.approx(statistics.mean(v))) for k, v in groups.items()
    }


def test_parse_the_report_line() -> None:
    # aws/aws-sdk-js-v3#6928's query
    query = r"""filter @type = 'REPORT'
    | parse @message /REPORT (?:.+)Memory Size: (?<memoryLimit>\d+) MB\sMax Memory Used: (?<memoryUsed>\d+) MB/
    | display @requestId, memoryLimit, memoryUsed | sort @timestamp asc"""
    assert run_query(query, EVENTS) == [
        {"@requestId": i.request_id, "memoryLimit": str(i.memory), "memoryUsed": str(i.used)}
        for i in INVOCATIONS
    ]


def test_x_ray_ids() -> None:
    rows = run_query(
        "filter ispresent(@xrayTraceId) | fields @requestId, @xrayTraceId, @xraySegmentId"
        " | sort @timestamp asc",
        EVENTS,
    )
    assert rows == [
        {"@requestId": i.request_id, "@xrayTraceId": i.trace[0], "@xraySegmentId": i.trace[1]}
        for i in INVOCATIONS
        if i.trace is not None
    ]


def test_info_lines_newest_first_limited() -> None:
    # the issue: fields @timestamp, @message | sort @timestamp desc
    #   | filter @message like "[INFO]" | limit 20
    many = documents(
        Event(f"[INFO]\t{_iso(T0 + i * 7_000)}\trid-{i}\tline {i}\n", T0 + i * 7_000)
        for i in range(25)
    ) + documents(Event(f"[ERROR] e{i}", T0 + i * 7_000 + 1) for i in range(5))
    rows = run_query(
        'fields @timestamp, @message | sort @timestamp desc | filter @message like "[INFO]" | limit 20',
        many,
    )
    expected = [T0 + i * 7_000 for i in range(24, 4, -1)]
    assert column(rows, "@timestamp") == [stamp(t) for t in expected]
    assert all("[INFO]" in m for m in column(rows, "@message"))


def test_info_lines_per_minute() -> None:
    # the issue: fields @timestamp, @message | filter @message like "[INFO]"
    #   | stats count(*) by bin(1m)
    rows = run_query(
        'fields @timestamp, @message | filter @message like "[INFO]" | stats count(*) by bin(1m)',
        EVENTS,
    )
    expected = Counter(stamp((T0 + i.offset + 1) // 60_000 * 60_000) for i in INVOCATIONS)
    assert {r["bin(1m)"]: r["count(*)"] for r in rows} == dict(expected)


def test_count_by_log_stream() -> None:
    events = documents(
        [
            Event("REPORT RequestId: r1\tDuration: 1.0 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 10 MB\t\n", T0, log_stream="s-a"),
            Event("REPORT RequestId: r2\tDuration: 2.0 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 20 MB\t\n", T0 + 1, log_stream="s-b"),
            Event("REPORT RequestId: r3\tDuration: 3.0 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 30 MB\t\n", T0 + 2, log_stream="s-a"),
        ]
    )  # fmt: skip
    rows = run_query(
        'filter @type = "REPORT" | stats count(*) as n, sum(@duration) as d by @logStream', events
    )
    assert {r["@logStream"]: (r["n"], r["d"]) for r in rows} == {
        "s-a": (2, pytest.approx(4.0)),
        "s-b": (1, pytest.approx(2.0)),
    }


def test_json_fragment_of_a_lambda_line_is_discovered() -> None:
    # Node's tab-separated lines: the JSON after the prefix becomes fields (the 2023
    # discovered-fields table: the first embedded JSON fragment of a Lambda event)
    body = {"orderId": "o-1", "total": 12.5, "items": [{"sku": "A-1"}, {"sku": "B-2"}]}
    message = (
        f"{_iso(T0)}\t8c1b5f3e-2b7e-4a4c-9d0e-1f2a3b4c5d6e\tINFO\t{orjson.dumps(body).decode()}\n"
    )
    rows = run_query(
        'filter orderId = "o-1" | fields total, items.1.sku', documents([Event(message, T0)])
    )
    assert rows == [{"total": 12.5, "items.1.sku": "B-2"}]
