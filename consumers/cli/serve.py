"""``cwlpipe serve``: the CloudWatch Logs API over the indexed logs, and Firehose deliveries.

Point ``aws logs ... --endpoint-url http://127.0.0.1:4586`` or boto3's
``logs`` client at it: DescribeLogGroups, DescribeLogStreams,
FilterLogEvents, GetLogEvents, StartQuery, GetQueryResults, StopQuery,
DescribeQueries, GetLogRecord, TestMetricFilter, DescribeMetricFilters and
DescribeSubscriptionFilters. ``POST /firehose`` takes Kinesis Data Firehose
HTTP endpoint deliveries and publishes their records to the log topic.
A config with only ``opensearch.url`` (or ``CWLPIPE_OPENSEARCH_URL``) is
enough. Without ``api.credentials`` it listens on loopback only; with them,
every API request must be signed (SigV4). Ctrl-C or SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from dataclasses import replace
from typing import Any

from consumers.api.server import ApiServer, ListenRefused
from consumers.cli.common import EXIT_CONFIG, bad_config, load
from consumers.config.api import split_listen
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.summary import mask_url
from consumers.runtime.errors import ShellError
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError, until_up
from pipeline.errors import ConfigError

__all__ = ["register", "run"]

log = logging.getLogger("cwlpipe")


def _listen(text: str) -> str:
    try:
        split_listen(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the CloudWatch Logs API and a Firehose endpoint over the indexed logs",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument(
        "--listen",
        type=_listen,
        default=None,
        help="host:port (default: api.listen, 127.0.0.1:4586)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load("serve", args.config)
    if config is None:
        return EXIT_CONFIG
    if config.opensearch.url is None:
        missing = ConfigError(
            "is required by cwlpipe serve (or CWLPIPE_OPENSEARCH_URL)",
            file=config.file,
            key="opensearch.url",
        )
        return bad_config("serve", missing)
    if args.listen:
        config = replace(config, api=replace(config.api, listen=args.listen))
    host, port = split_listen(config.api.listen)
    try:
        return asyncio.run(_serve(ApiServer(config, host, port)))
    except (ListenRefused, ShellError) as error:
        print(f"cwlpipe serve: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except OSError as error:
        print(
            f"cwlpipe serve: cannot listen on {config.api.listen}: {error.strerror}",
            file=sys.stderr,
        )
        return 1


async def _serve(server: ApiServer) -> int:
    stop = StopSignal()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.request, 0.0)
    try:
        await server.start()
        store = mask_url(server.config.opensearch.url or "")
        auth = (
            "SigV4 required" if server.config.api.credentials else "no credentials, loopback only"
        )
        print(f"cwlpipe serve: {server.url} ({auth}); store {store}", flush=True)
        try:
            up = await until_up("OpenSearch", server.client.info, policy=RetryPolicy(), stop=stop)
        except StartupError as error:  # refused for good: the API answers, its calls fail
            log.warning("%s", error)
        else:
            if up is not None:
                log.info("OpenSearch answered")
        while not stop.requested:
            await stop.wait(3600)
    finally:
        await server.stop()
    return 0
