"""``cwlpipe insights``: a CloudWatch Logs Insights query over the indexed logs.

Searches the log indices of the configured routes (``cwl-*`` by default)
for the given log groups and time range (inclusive, to the millisecond;
ISO 8601 or relative such as ``-1h``), then prints the table as the console
shows it and ``N records matched | M records (X kB) scanned in T s``.
``--output json`` prints only GetQueryResults' JSON; ``--output csv`` CSV.
The store is found like ``cwlpipe run`` finds it (``CWLPIPE_OPENSEARCH_URL``
works without ``--config``). An invalid query is refused before the store
is touched (exit 2, the reason, the query and a caret under the error); a
query the store could not answer fully says what was partial on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

import orjson
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from consumers.cli import arguments
from consumers.cli.common import EXIT_CONFIG, bad_config, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.summary import mask_url
from consumers.insights.output import as_csv, as_table, get_query_results, statistics_line
from consumers.insights.store import DEFAULT_SCAN_CAP, run_on_store
from consumers.opensearch.sink import make_client
from consumers.runtime.errors import describe
from pipeline.errors import ConfigError, InsightsError
from pipeline.insights import parse_query
from pipeline.insights.times import parse_time

__all__ = ["register", "run"]

EXIT_QUERY = 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "insights",
        help="run a CloudWatch Logs Insights query over the indexed logs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("query", help="the query, e.g. 'fields @timestamp, @message | limit 20'")
    parser.add_argument(
        "--log-group-name",
        action="append",
        default=[],
        metavar="GROUP",
        help="a log group to query (repeat for more; none: every group)",
    )
    parser.add_argument("--start", default="-1h", help="ISO 8601 or relative (-1h); default -1h")
    parser.add_argument("--end", default="now", help="ISO 8601 or relative; default now")
    parser.add_argument("--output", choices=("table", "json", "csv"), default="table")
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument(
        "--timeout", type=arguments.timeout, default=60.0, help="seconds before answering partially"
    )
    parser.add_argument(
        "--scan-cap",
        type=arguments.count,
        default=DEFAULT_SCAN_CAP,
        help="documents scanned at most before answering partially",
    )
    parser.set_defaults(handler=run, log_level_default="warning")


def run(args: argparse.Namespace) -> int:
    try:
        query = parse_query(args.query)
    except InsightsError as error:
        print(f"cwlpipe insights: invalid query: {error.reason}", file=sys.stderr)
        print(error.caret(), file=sys.stderr)
        return EXIT_QUERY
    now_ms = int(time.time() * 1000)
    try:
        start_ms = parse_time(args.start, now_ms)
        end_ms = parse_time(args.end, now_ms)
    except ValueError as error:
        print(f"cwlpipe insights: {error}", file=sys.stderr)
        return EXIT_QUERY
    if start_ms > end_ms:
        print("cwlpipe insights: --start is after --end", file=sys.stderr)
        return EXIT_QUERY
    config = load("insights", args.config)
    if config is None:
        return EXIT_CONFIG
    if config.opensearch.url is None:
        missing = ConfigError(
            "is required by cwlpipe insights (or CWLPIPE_OPENSEARCH_URL)",
            file=config.file,
            key="opensearch.url",
        )
        return bad_config("insights", missing)
    indices = ",".join(dict.fromkeys(route.index_pattern for route in config.router().all_routes))

    async def query_store() -> Any:
        client = make_client(config.opensearch)
        try:
            return await run_on_store(
                client,
                query,
                indices=indices,
                log_groups=args.log_group_name,
                start_ms=start_ms,
                end_ms=end_ms,
                timeout_s=args.timeout,
                scan_cap=args.scan_cap,
                now_ms=now_ms,
            )
        finally:
            await client.close()

    try:
        answer = asyncio.run(query_store())
    except (StoreConnectionError, TransportError) as error:
        where = mask_url(config.opensearch.url or "")
        print(f"cwlpipe insights: OpenSearch ({where}): {describe(error)}", file=sys.stderr)
        return 1
    except InsightsError as error:  # found while evaluating (an aggregate outside stats)
        print(f"cwlpipe insights: invalid query: {error.reason}", file=sys.stderr)
        print(error.caret(), file=sys.stderr)
        return EXIT_QUERY
    for reason in answer.partial:
        print(f"cwlpipe insights: partial results: {reason}", file=sys.stderr)
    if args.output == "json":
        sys.stdout.write(orjson.dumps(get_query_results(answer)).decode() + "\n")
    elif args.output == "csv":
        sys.stdout.write(as_csv(answer))
    else:
        print(as_table(answer))
        print(statistics_line(answer))
    return 0
