"""``cwlpipe serve`` with real clients (boto3 and its paginators, the AWS CLI) against the
OpenSearch-compatible store: every group, stream and event, exactly the events the filter
pattern engine matches, Insights queries, SigV4, and the loopback rule."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError

from consumers.api.server import ApiServer
from consumers.devtools.local_servers import free_port
from pipeline.insights import run_query
from pipeline.insights.discovered import parse_timestamp
from pipeline.insights.functions import to_text
from pipeline.patterns import compile_pattern
from tests.integration.api_helpers import NOW, api_server, index, logs_client, sample_documents

pytestmark = pytest.mark.integration

DOCS = sample_documents()
GROUPS = sorted({d["@log_group"] for d in DOCS})
PATTERNS = [
    "",
    "ERROR",
    '"Task timed out"',
    "?START ?END",
    "-REPORT",
    "{ $.level = * }",
    "[ip, identity, user, timestamp, request, status_code = 2*, size]",
]


def ordered(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(docs, key=lambda d: (parse_timestamp(d["@timestamp"]), d["@id"]))


@pytest.fixture
async def server(osmem_url: str) -> AsyncIterator[ApiServer]:
    await index(osmem_url, DOCS)
    async with api_server({"opensearch": {"url": osmem_url}}) as running:
        yield running


def paginate(client: Any, operation: str, key: str, **params: Any) -> list[Any]:
    pages = client.get_paginator(operation).paginate(**params)
    return [item for page in pages for item in page[key]]


async def test_paginators_list_every_group_stream_and_event(server: ApiServer) -> None:
    logs = logs_client(server.url)
    groups = await asyncio.to_thread(
        paginate, logs, "describe_log_groups", "logGroups", PaginationConfig={"PageSize": 1}
    )
    assert [g["logGroupName"] for g in groups] == GROUPS
    for group in GROUPS:
        mine = [d for d in DOCS if d["@log_group"] == group]
        streams = await asyncio.to_thread(
            paginate,
            logs,
            "describe_log_streams",
            "logStreams",
            logGroupName=group,
            PaginationConfig={"PageSize": 1},
        )
        assert [s["logStreamName"] for s in streams] == sorted({d["@log_stream"] for d in mine})
        events = await asyncio.to_thread(
            paginate,
            logs,
            "filter_log_events",
            "events",
            logGroupName=group,
            PaginationConfig={"PageSize": 2},
        )
        assert [e["eventId"] for e in events] == [d["@id"] for d in ordered(mine)]


@pytest.mark.parametrize("pattern", PATTERNS)
async def test_filter_log_events_is_exactly_what_compile_pattern_matches(
    server: ApiServer, pattern: str
) -> None:
    logs = logs_client(server.url)
    compiled = compile_pattern(pattern)
    for group in GROUPS:
        events = await asyncio.to_thread(
            paginate,
            logs,
            "filter_log_events",
            "events",
            logGroupName=group,
            filterPattern=pattern,
            PaginationConfig={"PageSize": 3},
        )
        expected = [
            d
            for d in ordered([d for d in DOCS if d["@log_group"] == group])
            if compiled.match(d["@message"]) is not None
        ]
        assert [(e["eventId"], e["message"]) for e in events] == [
            (d["@id"], d["@message"]) for d in expected
        ], (group, pattern)


async def test_get_log_events_reads_a_stream_forward_to_the_end(server: ApiServer) -> None:
    logs = logs_client(server.url)
    doc = DOCS[0]
    group, stream = doc["@log_group"], doc["@log_stream"]

    def read_all() -> list[str]:
        answer = logs.get_log_events(
            logGroupName=group, logStreamName=stream, startFromHead=True, limit=2
        )
        seen = [e["message"] for e in answer["events"]]
        for _ in range(1000):
            token = answer["nextForwardToken"]
            answer = logs.get_log_events(
                logGroupName=group,
                logStreamName=stream,
                nextToken=token,
                startFromHead=True,
                limit=2,
            )
            if answer["nextForwardToken"] == token:
                return seen
            seen += [e["message"] for e in answer["events"]]
        raise AssertionError("the stream never ended")

    expected = [
        d["@message"]
        for d in ordered(DOCS)
        if (d["@log_group"], d["@log_stream"]) == (group, stream)
    ]
    assert await asyncio.to_thread(read_all) == expected


async def test_an_insights_query_runs_in_the_background(server: ApiServer) -> None:
    logs = logs_client(server.url)
    query = "stats count(*) as n by @logStream | sort n desc, @logStream asc"
    start, end = (NOW - 3_600_000) // 1000, (NOW + 60_000) // 1000

    def run() -> dict[str, Any]:
        query_id = logs.start_query(
            logGroupNames=GROUPS, startTime=start, endTime=end, queryString=query
        )["queryId"]
        for _ in range(600):
            answer: dict[str, Any] = logs.get_query_results(queryId=query_id)
            if answer["status"] not in ("Scheduled", "Running"):
                return answer
            time.sleep(0.05)
        raise AssertionError("the query never finished")

    answer = await asyncio.to_thread(run)
    assert answer["status"] == "Complete"
    expected = run_query(query, DOCS, start_ms=start * 1000, end_ms=end * 1000 + 999)
    rows = [{c["field"]: c["value"] for c in row} for row in answer["results"]]
    assert rows == [{k: to_text(v) for k, v in row.items()} for row in expected]


async def test_ptr_leads_to_the_log_record(server: ApiServer) -> None:
    logs = logs_client(server.url)

    def run() -> tuple[dict[str, Any], dict[str, Any]]:
        query_id = logs.start_query(
            logGroupName=GROUPS[0],
            startTime=(NOW - 3_600_000) // 1000,
            endTime=(NOW + 60_000) // 1000,
            queryString="fields @timestamp, @message | limit 1",
        )["queryId"]
        while (answer := logs.get_query_results(queryId=query_id))["status"] != "Complete":
            time.sleep(0.05)
        row = {c["field"]: c["value"] for c in answer["results"][0]}
        return row, logs.get_log_record(logRecordPointer=row["@ptr"])["logRecord"]

    row, record = await asyncio.to_thread(run)
    assert record["@message"] == row["@message"]
    assert record["@log"].endswith(GROUPS[0])


async def test_errors_arrive_as_botocore_client_errors(server: ApiServer) -> None:
    logs = logs_client(server.url)

    def codes() -> list[str]:
        found = []
        for call in (
            lambda: logs.describe_log_streams(logGroupName="/no/such/group"),
            lambda: logs.start_query(
                logGroupName=GROUPS[0], startTime=0, endTime=1, queryString="stats count(* by"
            ),
            lambda: logs.filter_log_events(logGroupName=GROUPS[0], filterPattern="{ $.a = "),
            lambda: logs.put_retention_policy(logGroupName=GROUPS[0], retentionInDays=1),
        ):
            try:
                call()
            except ClientError as error:
                found.append(error.response["Error"]["Code"])
        return found

    assert await asyncio.to_thread(codes) == [
        "ResourceNotFoundException",
        "MalformedQueryException",
        "InvalidParameterException",
        "UnknownOperationException",
    ]


def aws(url: str, *args: str) -> Any:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDTEST",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    done = subprocess.run(
        [sys.executable, "-m", "awscli", "logs", *args, "--endpoint-url", url, "--output", "json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout)


async def test_the_aws_cli(server: ApiServer) -> None:
    group = GROUPS[0]
    answer = await asyncio.to_thread(
        aws,
        server.url,
        "filter-log-events",
        "--log-group-name",
        group,
        "--filter-pattern",
        "REPORT",
    )
    compiled = compile_pattern("REPORT")
    expected = [
        d["@id"]
        for d in ordered([d for d in DOCS if d["@log_group"] == group])
        if compiled.match(d["@message"]) is not None
    ]
    assert expected and [e["eventId"] for e in answer["events"]] == expected
    started = await asyncio.to_thread(
        aws,
        server.url,
        "start-query",
        "--log-group-name",
        group,
        "--start-time",
        str((NOW - 3_600_000) // 1000),
        "--end-time",
        str((NOW + 60_000) // 1000),
        "--query-string",
        "stats count(*)",
    )
    for _ in range(100):
        results = await asyncio.to_thread(
            aws, server.url, "get-query-results", "--query-id", started["queryId"]
        )
        if results["status"] == "Complete":
            break
    assert results["results"] == [
        [{"field": "count(*)", "value": str(sum(d["@log_group"] == group for d in DOCS))}]
    ]


async def test_sigv4_is_required_when_credentials_are_configured(osmem_url: str) -> None:
    await index(osmem_url, DOCS[:3])
    data = {"opensearch": {"url": osmem_url}, "api": {"credentials": {"AKIDGOOD": "API_SECRET"}}}
    async with api_server(data, env={"API_SECRET": "right-secret"}) as running:

        def outcome(key: str, secret: str) -> str:
            try:
                logs_client(running.url, key, secret).describe_log_groups()
            except ClientError as error:
                return str(error.response["Error"]["Code"])
            return "ok"

        assert await asyncio.to_thread(outcome, "AKIDGOOD", "right-secret") == "ok"
        assert await asyncio.to_thread(outcome, "AKIDGOOD", "wrong") == "InvalidSignatureException"
        assert await asyncio.to_thread(outcome, "AKIDBAD", "x") == "UnrecognizedClientException"


def serve(*args: str, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "serve", *args],
        env={**os.environ, "CWLPIPE_OPENSEARCH_URL": url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def test_serve_refuses_to_listen_beyond_loopback_without_credentials(
    tmp_path: Any,
) -> None:
    config = tmp_path / "only-store.yaml"
    config.write_text("opensearch: {url: 'http://127.0.0.1:9'}\n")
    process = serve("--config", str(config), "--listen", "0.0.0.0:0", url="http://127.0.0.1:9")
    _, err = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 2
    assert err.strip().splitlines() == [
        "cwlpipe serve: refusing to listen on 0.0.0.0: without api.credentials only loopback "
        "(127.0.0.1, ::1, localhost) is allowed"
    ]


async def test_serve_with_a_config_holding_only_the_store(osmem_url: str, tmp_path: Any) -> None:
    await index(osmem_url, DOCS)
    config = tmp_path / "only-store.yaml"
    config.write_text(f"opensearch: {{url: '{osmem_url}'}}\n")
    port = free_port()
    process = serve("--config", str(config), "--listen", f"127.0.0.1:{port}", url="")
    try:
        assert process.stdout is not None
        line = await asyncio.to_thread(process.stdout.readline)
        assert line.startswith(f"cwlpipe serve: http://127.0.0.1:{port} "), line
        logs = logs_client(f"http://127.0.0.1:{port}")
        groups = await asyncio.to_thread(logs.describe_log_groups)
        assert [g["logGroupName"] for g in groups["logGroups"]] == GROUPS
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(process.communicate, timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err
