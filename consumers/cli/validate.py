"""``cwlpipe validate [--config C] [--connect]``: check a config before deploying it.

Loads the config as ``cwlpipe run`` would (environment overrides, files it
names), which compiles every route's filter pattern and every metric
filter, and prints a short summary. ``--connect`` also reaches Kafka (are the
input topics there?) and OpenSearch (cluster info), each within
``--timeout`` seconds, one line per check. Exit 0 when all is well, 2 with
the reason otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from consumers.cli import arguments, logs
from consumers.cli.common import EXIT_CONFIG, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.service import ServiceConfig
from consumers.config.summary import summary
from consumers.kafka.probe import check_kafka
from consumers.opensearch.probe import check_opensearch
from consumers.runtime.reach import Check

__all__ = ["connect", "register", "run"]

DEFAULT_TIMEOUT_S = 5.0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "validate",
        help="check a config (and with --connect, that Kafka and OpenSearch answer)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument("--connect", action="store_true", help="also reach Kafka and OpenSearch")
    parser.add_argument(
        "--timeout",
        type=arguments.timeout,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"for each connection check (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load("validate", args.config)
    if config is None:
        return EXIT_CONFIG
    for line in summary(config):
        print(line)
    if not args.connect:
        print("config ok (not connected; --connect reaches Kafka and OpenSearch)")
        return 0
    checks = asyncio.run(connect(config, args.timeout))
    for check in checks:
        print(check.line(), file=sys.stdout if check.ok else sys.stderr)
    return 0 if all(check.ok for check in checks) else EXIT_CONFIG


async def connect(config: ServiceConfig, timeout_s: float) -> list[Check]:
    """Every connection check; the clients' own error logs are quiet, each check says why."""
    with logs.quiet("aiokafka", "opensearch"):
        return [
            *await check_kafka(config.kafka, timeout_s, _trace_topics(config)),
            await check_opensearch(config.opensearch, timeout_s),
        ]


def _trace_topics(config: ServiceConfig) -> tuple[str, ...]:
    traces = config.core.traces
    return traces.input_topics if traces.enabled else ()
