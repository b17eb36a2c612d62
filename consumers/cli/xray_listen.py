"""``cwlpipe xray-listen``: the X-Ray daemon's UDP port, publishing to the trace topic.

AWS X-Ray SDKs and the OpenTelemetry collector's X-Ray exporter send
segments to UDP 127.0.0.1:2000 (or AWS_XRAY_DAEMON_ADDRESS); listening there
points them at the pipeline unchanged. Each datagram with the daemon's
header ({"format": "json", "version": 1} and a newline) is published as
received to --topic, else the config's traces.input_topics[0], for
``cwlpipe run`` to index.

UDP cannot be dead-lettered meaningfully: the sender never hears back and
nothing identifies it. Datagrams over 64 KiB, with a bad header, or beyond
--max-queue-bytes while Kafka is slow or away are dropped, counted by reason
and logged (rate-limited). Kafka down at start-up is waited for.
SIGTERM/SIGINT stop receiving, flush what is queued within
shutdown_deadline_s, print the totals and exit 0.

Binding a non-loopback address exposes an unauthenticated port: anyone who
reaches it can write to the trace topic.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Any

from consumers.cli.common import EXIT_CONFIG, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.kafka.source import make_producer
from consumers.runtime.reach import split_address
from consumers.runtime.startup import StartupError
from consumers.xray.listener import DEFAULT_PORT, ListenerSettings, XRayListener
from pipeline.traces import MAX_DATAGRAM_BYTES

__all__ = ["register", "run"]

MAX_PORT = 65535
DEFAULT_QUEUE_BYTES = 8 << 20
log = logging.getLogger("cwlpipe")


def udp_address(text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a host (port 2000); a host is required, so an empty
    one never silently means every interface."""
    try:
        host, port = split_address(text, DEFAULT_PORT)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be host:port, got {text!r}") from None
    if not host:
        raise argparse.ArgumentTypeError(f"needs a host (127.0.0.1 for loopback), got {text!r}")
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"port must be 0..{MAX_PORT}, got {port}")
    return host, port


def port_number(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text!r}") from None
    if not 0 <= port <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"must be 0..{MAX_PORT}, got {port}")
    return port


def queue_bytes(text: str) -> int:
    """At least one datagram's worth: a smaller bound would drop every segment."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of bytes, got {text!r}") from None
    if value < MAX_DATAGRAM_BYTES:
        raise argparse.ArgumentTypeError(f"must be >= {MAX_DATAGRAM_BYTES} (one datagram)")
    return value


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "xray-listen",
        help="receive X-Ray SDK segments on UDP (the X-Ray daemon's protocol) into the trace topic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument(
        "--listen",
        type=udp_address,
        default=("127.0.0.1", DEFAULT_PORT),
        metavar="HOST:PORT",
        help="UDP address (default 127.0.0.1:2000, loopback; a non-loopback address exposes "
        "an unauthenticated port that writes to the trace topic)",
    )
    parser.add_argument(
        "--topic", help="Kafka topic (default: the config's traces.input_topics[0])"
    )
    parser.add_argument(
        "--metrics-port",
        type=port_number,
        help="serve Prometheus /metrics on this port (at the config's metrics.address)",
    )
    parser.add_argument(
        "--max-queue-bytes",
        type=queue_bytes,
        default=DEFAULT_QUEUE_BYTES,
        help="datagrams held while Kafka is slow or away; beyond it the newest are dropped "
        f"(default {DEFAULT_QUEUE_BYTES >> 20} MiB)",
    )
    parser.set_defaults(handler=run)


_early_signals: list[int] = []


def _remember(signum: int, frame: Any) -> None:
    """A stop asked for before the event loop runs: honoured as soon as it does."""
    _early_signals.append(signum)


def run(args: argparse.Namespace) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _remember)
    config = load("xray-listen", args.config)
    if config is None:
        return EXIT_CONFIG
    traces = config.core.traces
    host, port = args.listen
    settings = ListenerSettings(
        host,
        port,
        args.topic or traces.input_topics[0],
        brokers=config.kafka.bootstrap_servers,
        max_queue_bytes=args.max_queue_bytes,
        shutdown_deadline_s=config.shutdown_deadline_s,
    )
    listener: XRayListener | None = None

    async def main() -> None:
        nonlocal listener
        listener = XRayListener(
            settings,
            lambda: make_producer(config.kafka),
            metrics_port=args.metrics_port,
            metrics_address=config.metrics.address,
        )
        listener.install_signal_handlers()
        if _early_signals:
            listener.request_stop()
        if not traces.enabled:
            log.warning("traces.enabled is false in this config: cwlpipe run will not read traces")
        await listener.serve()

    code = 0
    try:
        asyncio.run(main())
    except StartupError as error:
        print(f"cwlpipe xray-listen: {error}", file=sys.stderr)
        code = EXIT_CONFIG
    if listener is not None and (code == 0 or listener.books.received):
        print(f"cwlpipe xray-listen: {listener.books.summary()}")
    return code
