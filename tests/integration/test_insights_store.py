"""``cwlpipe insights`` against the OpenSearch-compatible store: the same rows as the reference
evaluator over the same documents, exact past 10,000 documents, an invalid query refused
before the store is touched, the output formats."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any

import orjson
import pytest

from pipeline.documents import build_source
from pipeline.insights import run_query
from tests.integration.api_helpers import NOW, index
from tests.integration.api_helpers import sample_documents as documents

pytestmark = pytest.mark.integration

START, END = NOW - 3_600_000, NOW + 60_000
QUERIES = [
    "fields @timestamp, @message | sort @timestamp desc | filter @message like 'INFO' | limit 20",
    'fields @timestamp, @message | filter @message like "handled" | stats count(*) by bin(1m)',
    """filter @type = "REPORT" | stats max(@memorySize / 1000 / 1000) as provisonedMemoryMB,
      min(@maxMemoryUsed / 1000 / 1000) as smallestMemoryRequestMB,
      avg(@maxMemoryUsed / 1000 / 1000) as avgMemoryUsedMB,
      max(@maxMemoryUsed / 1000 / 1000) as maxMemoryUsedMB,
      provisonedMemoryMB - maxMemoryUsedMB as overProvisionedMB""",
    "filter @type = 'REPORT' | stats avg(@duration), pct(@duration, 90), count(*) by @log",
    "parse @message '* - - [*] \"* * *\" * *' as ip, date, method, path, proto, status, size"
    " | filter ispresent(status) | stats count(*) as n by status | sort n desc, status asc",
    "fields level, toupper(level) as loud | filter ispresent(level) | dedup level",
    "filter @logStream like /[0-9a-f]{32}/ | stats count_distinct(@logStream) as streams",
    "SOURCE logGroups(namePrefix: ['/aws/lambda/']) | stats count(*) by @log | sort @log",
    # counted in the store (no scan): the same rows
    "stats count(*) by bin(1m)",
    "stats count(*) as n, count(*) as m by bin(30s) | sort n desc | limit 2",
    "filter @logStream = 'nope' | stats count(*)",
    "stats count(*)",
    "stats count(*) by @logStream",
    "stats count(*) as n by @log, bin(20s)",
    "stats count(*) as n by @logStream, @log | sort n desc | limit 2",
    # narrowed in the store by the exact part of the filters, the rest evaluated here
    "filter @logStream like /./ and not (@logStream = 'nope') | stats count(*) as n",
    "filter @logStream in ['nope', '{stream}'] or @logStream = 'x' | fields @message",
]


def insights(store: str, query: str, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CWLPIPE_OPENSEARCH_URL": store}
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", "insights", query, *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def rows_of(answer: dict[str, Any]) -> list[dict[str, str]]:
    return [
        {cell["field"]: cell["value"] for cell in row if cell["field"] != "@ptr"}
        for row in answer["results"]
    ]


def as_strings(rows: list[dict[str, Any]]) -> list[dict[str, str]]:
    from pipeline.insights.functions import to_text

    return [{k: to_text(v) or "" for k, v in row.items()} for row in rows]


async def test_the_store_answers_what_the_reference_evaluator_answers(osmem_url: str) -> None:
    sources = documents()
    await index(osmem_url, sources)
    window = ("--start", str(START), "--end", str(END))
    stream = sources[0]["@log_stream"]
    for query in (q.replace("{stream}", stream) for q in QUERIES):
        done = await asyncio.to_thread(insights, osmem_url, query, *window, "--output", "json")
        assert done.returncode == 0, (query, done.stderr)
        answer = orjson.loads(done.stdout)
        expected = run_query(query, sources, start_ms=START, end_ms=END)
        assert expected, query
        assert rows_of(answer) == as_strings(expected), query
        assert answer["status"] == "Complete"
        statistics = answer["statistics"]
        assert statistics["recordsScanned"] >= statistics["recordsMatched"], query


def test_counts_are_planned_for_the_store_only_where_exact() -> None:
    from consumers.insights.pushdown import plan_count
    from pipeline.insights import parse_query

    assert plan_count(parse_query("stats count(*) by bin(5m) | sort @x")) is not None
    assert plan_count(parse_query("filter @logStream = 'a' | stats count(*)")) is not None
    assert plan_count(parse_query("stats count(*) by @logStream, @log, bin(1h)")) is not None
    for scanned in (
        "stats count(*) by bin(1mo)",  # calendar months: not a fixed interval
        "stats count(@message)",
        "stats count(*) by level",  # a JSON field: read from @message at query time
        "filter @message like 'x' | stats count(*)",
        "fields @message | stats count(*)",
    ):
        assert plan_count(parse_query(scanned)) is None, scanned


async def test_results_are_exact_past_ten_thousand_documents(osmem_url: str) -> None:
    sources = [
        build_source(
            event_id=f"{n:056d}",
            timestamp=NOW - n,
            message=f'{{"n": {n}, "kind": "{"odd" if n % 2 else "even"}"}}',
            owner="123456789012",
            log_group="/big",
            log_stream="s",
            extracted_fields=None,
        )
        for n in range(12_345)
    ]
    await index(osmem_url, sources)
    query = "stats count(*) as events, sum(n) as total by kind | sort kind"
    counted = await asyncio.to_thread(
        insights,
        osmem_url,
        "stats count(*) as events",
        "--log-group-name",
        "/big",
        "--start",
        str(START),
        "--end",
        str(END),
        "--output",
        "json",
    )
    assert rows_of(orjson.loads(counted.stdout)) == [{"events": "12345"}]
    done = await asyncio.to_thread(
        insights,
        osmem_url,
        query,
        "--log-group-name",
        "/big",
        "--start",
        str(START),
        "--end",
        str(END),
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert rows_of(orjson.loads(done.stdout)) == [
        {"kind": "even", "events": "6173", "total": str(sum(range(0, 12_345, 2)))},
        {"kind": "odd", "events": "6172", "total": str(sum(range(1, 12_345, 2)))},
    ]


def test_an_invalid_query_is_refused_before_the_store_is_touched() -> None:
    done = insights("http://127.0.0.1:9", "fields @message | stats count( by x")
    assert done.returncode == 2
    reason, line, caret = done.stderr.splitlines()
    assert reason.startswith("cwlpipe insights: invalid query: expected")
    assert line == "fields @message | stats count( by x"
    assert caret.strip() == "^" and caret.index("^") == line.index("by")


async def test_the_table_and_its_statistics_line(osmem_url: str) -> None:
    sources = documents()
    await index(osmem_url, sources)
    done = await asyncio.to_thread(
        insights,
        osmem_url,
        "stats count(*) by @log | sort @log",
        "--start",
        str(START),
        "--end",
        str(END),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split(" | ") == ["@log".ljust(len(lines[2].split(" | ")[0])), "count(*)"]
    assert lines[-1].startswith(f"{len(sources)} records matched | {len(sources)} records (")
    assert "scanned in" in lines[-1]


async def test_a_capped_scan_answers_partially_and_says_so(osmem_url: str) -> None:
    sources = documents()
    await index(osmem_url, sources)
    done = await asyncio.to_thread(
        insights,
        osmem_url,
        "fields @message | limit 5",
        "--start",
        str(START),
        "--end",
        str(END),
        "--scan-cap",
        "10",
        "--output",
        "json",
    )
    assert done.returncode == 0, done.stderr
    assert "partial results: the scan stopped at its cap of 10 documents" in done.stderr
    assert orjson.loads(done.stdout)["statistics"]["recordsScanned"] == 10


async def test_a_store_that_does_not_answer_gives_a_partial_answer_at_the_timeout(
    osmem_url: str,
) -> None:
    from tests.integration.fault_proxy import FaultProxy

    await index(osmem_url, documents())
    proxy = FaultProxy(osmem_url)
    await proxy.start()
    proxy.hang_search = True
    try:  # without the timeout, the subprocess would hang past its own 120 s guard
        done = await asyncio.to_thread(
            insights,
            proxy.url,
            "fields @message",
            "--start",
            str(START),
            "--end",
            str(END),
            "--timeout",
            "1",
        )
    finally:
        proxy.hang_search = False
        await proxy.stop()
    assert done.returncode == 0, done.stderr
    assert "partial results: the scan stopped at the 1 s timeout" in done.stderr
