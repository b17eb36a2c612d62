"""``cwlpipe run``: the ingestion daemon (Kafka -> OpenSearch, dead letters, /metrics).

Scale-out is Kafka's consumer group: ``--workers N`` starts N processes in
the same group (metrics on ports port..port+N-1), and more hosts can join
the same group. A bad config stops start-up with file, key and reason
(exit 2).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from consumers.runtime.config_file import DEFAULT_CONFIG, load_config
from consumers.runtime.daemon import Daemon, StartupError, build_daemon, serve
from pipeline.config import PipelineConfig
from pipeline.errors import ConfigError

__all__ = ["build_daemon", "register", "run", "serve"]  # the last two re-exported

EXIT_CONFIG = 2
log = logging.getLogger("cwlpipe")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run the ingestion daemon",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument("--workers", type=int, default=1, help="processes in the consumer group")
    parser.add_argument("--worker-index", type=int, default=0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("opensearch").setLevel(logging.WARNING)
    logging.getLogger("opensearch").addFilter(lambda r: "status:404" not in r.getMessage())
    try:
        config = load_config(args.config, env=os.environ)
    except ConfigError as error:
        print(f"cwlpipe run: bad config: {error}", file=sys.stderr)
        return EXIT_CONFIG
    if args.workers > 1:
        return _supervise(args)
    port = config.metrics.port + args.worker_index if config.metrics.port else 0
    config = replace(config, metrics=replace(config.metrics, port=port))
    if config.opensearch.url is None:
        print("cwlpipe run: bad config: no OpenSearch URL (opensearch.url)", file=sys.stderr)
        return EXIT_CONFIG
    return _run_loop(config)


def _run_loop(config: PipelineConfig) -> int:
    runner: Callable[[Coroutine[Any, Any, int]], int] = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvloop is for Linux and macOS; asyncio's loop works everywhere
        pass

    async def main() -> int:
        daemon = Daemon(config)  # aiokafka wants its loop running
        daemon.install_signal_handlers()
        return int(await serve(daemon))

    try:
        return int(runner(main()))
    except StartupError as error:
        print(f"cwlpipe run: {error}", file=sys.stderr)
        return EXIT_CONFIG


def _supervise(args: argparse.Namespace) -> int:
    """N worker processes in one consumer group; signals are passed on, the worst exit wins."""
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consumers.cli",
                "run",
                "--config",
                args.config,
                "--worker-index",
                str(index),
            ]
        )
        for index in range(args.workers)
    ]

    def forward(signum: int, frame: Any) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return max(child.wait() for child in children)
