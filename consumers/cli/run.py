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
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from consumers.cli import arguments
from consumers.cli.common import EXIT_CONFIG, bad_config, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.service import ServiceConfig
from consumers.runtime.daemon import Daemon, StartupError, build_daemon, serve
from pipeline.errors import ConfigError

__all__ = ["build_daemon", "register", "run", "serve"]  # the last two re-exported

MAX_PORT = 65535
log = logging.getLogger("cwlpipe")


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "run",
        help="run the ingestion daemon",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument(
        "--workers", type=arguments.count, default=1, help="processes in the consumer group"
    )
    parser.add_argument("--worker-index", type=arguments.index, default=0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


_early_signals: list[int] = []


def _remember(signum: int, frame: Any) -> None:
    """A stop asked for before the event loop runs: honoured as soon as it does."""
    _early_signals.append(signum)


def run(args: argparse.Namespace) -> int:
    if args.workers == 1:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _remember)
    config = load("run", args.config)
    if config is None:
        return EXIT_CONFIG
    last_port = config.metrics.port + args.workers - 1
    if last_port > MAX_PORT:
        print(
            f"cwlpipe run: --workers {args.workers}: metrics ports {config.metrics.port}.."
            f"{last_port} go past {MAX_PORT} (metrics.port)",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if args.workers > 1:
        return _supervise(args)
    port = config.metrics.port + args.worker_index
    config = replace(config, metrics=replace(config.metrics, port=port))
    if config.opensearch.url is None:
        missing = ConfigError("is required by cwlpipe run", file=config.file, key="opensearch.url")
        return bad_config("run", missing)
    return _run_loop(config)


def _run_loop(config: ServiceConfig) -> int:
    runner: Callable[[Coroutine[Any, Any, int]], int] = asyncio.run
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # uvloop is for Linux and macOS; asyncio's loop works everywhere
        pass

    async def main() -> int:
        daemon = Daemon(config)  # aiokafka wants its loop running
        daemon.install_signal_handlers()
        if _early_signals:
            daemon.request_stop()
        return int(await serve(daemon))

    try:
        return int(runner(main()))
    except StartupError as error:
        print(f"cwlpipe run: {error}", file=sys.stderr)
        return EXIT_CONFIG


def _supervise(args: argparse.Namespace) -> int:
    """N worker processes in one consumer group; signals are passed on, the worst exit wins."""
    logging_options = ["--log-format", getattr(args, "log_format", "text")]
    if getattr(args, "log_level", None):
        logging_options += ["--log-level", args.log_level]
    children = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consumers.cli",
                *logging_options,
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
