"""``cwlpipe replay-dlq``: after a fix, take the dead letters through the current pipeline again.

Reads the dead-letter topic with its own consumer group (kafka.group_id plus ``-replay``) from
that group's committed position up to the topic's end as it was at the start. A selected dead
letter of stage decode, process or trace is processed again as the record it was; one of stage
index is written again as the document it holds. What fails again goes back to the dead-letter
topic with the new reason; what the options do not select is skipped and committed past. The
group commits after each dead letter is indexed or dead-lettered again, so a replay stopped or
killed anywhere can simply be run again. ``--dry-run`` lists what would be replayed and commits
nothing. Exit status: 0, 1 when anything was dead-lettered again or the store or the broker
stayed away, 2 for bad options or config.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from consumers.cli.common import EXIT_CONFIG, load
from consumers.config.service import ServiceConfig
from consumers.config.summary import mask_url
from consumers.kafka.dead_letters import KafkaDeadLetters, now_ms
from consumers.kafka.source import make_consumer, make_producer, started
from consumers.opensearch.sink import OpenSearchSink, make_client
from consumers.opensearch.trace_templates import install_trace_templates
from consumers.replay.replayer import Replayer, ReplayError, Totals, replay_group
from consumers.replay.selection import STAGES, Selection, parse_selection
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError, until_up

__all__ = ["register", "run"]

EXIT_AGAIN = 1
#: a one-shot command waits a little for a neighbour that is starting, not a whole outage
ATTEMPTS = 4
STOP_GRACE_S = 10.0
K = TypeVar("K", AIOKafkaConsumer, AIOKafkaProducer)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "replay-dlq",
        help="replay dead letters through the current pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="pipeline config (YAML); default: built-in defaults")
    parser.add_argument(
        "--stage",
        action="append",
        choices=STAGES,
        help="only dead letters of this stage (repeatable)",
    )
    parser.add_argument(
        "--reason-contains", metavar="TEXT", help="only dead letters whose reason contains TEXT"
    )
    parser.add_argument("--since", metavar="T", help="dead-lettered at or after T (ISO 8601, -1h)")
    parser.add_argument("--until", metavar="T", help="dead-lettered at or before T")
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would be replayed; commit nothing"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        selection = parse_selection(
            stages=args.stage or (),
            reason_contains=args.reason_contains,
            since=args.since,
            until=args.until,
            now_ms=now_ms(),
        )
    except ValueError as error:
        print(f"cwlpipe replay-dlq: {error}", file=sys.stderr)
        return EXIT_CONFIG
    config = load("replay-dlq", args.config)
    if config is None:
        return EXIT_CONFIG
    if not args.dry_run and not config.opensearch.url:
        print("cwlpipe replay-dlq: bad config: opensearch.url: needed to replay", file=sys.stderr)
        return EXIT_CONFIG
    try:
        totals = asyncio.run(_replay(config, selection, dry_run=args.dry_run))
    except (StartupError, ReplayError) as error:
        print(f"cwlpipe replay-dlq: {error}", file=sys.stderr)
        return EXIT_AGAIN
    verb = "would replay" if args.dry_run else "replayed"
    if totals.stopped:
        print("cwlpipe replay-dlq: stopped before the end; run it again to go on", file=sys.stderr)
    print(
        f"cwlpipe replay-dlq: {verb} {totals.replayed}, indexed {totals.indexed}, "
        f"dead-lettered again {totals.dead_lettered}, skipped {totals.skipped}",
        file=sys.stderr,
    )
    return EXIT_AGAIN if totals.dead_lettered else 0


async def _replay(config: ServiceConfig, selection: Selection, *, dry_run: bool) -> Totals:
    kafka, store = config.kafka, config.opensearch
    stop = StopSignal()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.request, STOP_GRACE_S)
    policy = RetryPolicy(store.initial_backoff_s, min(store.max_backoff_s, 4.0))
    brokers = f"Kafka ({kafka.bootstrap_servers})"
    clients: list[AIOKafkaConsumer | AIOKafkaProducer] = []

    async def reach(make: Callable[[], K]) -> K | None:
        """A started client, a new one per attempt (aiokafka's failed start is not restartable),
        waiting a little for a broker that is starting; None when stopped meanwhile."""

        async def attempt() -> K:
            client = await started(make())
            clients.append(client)
            return client

        return await until_up(brokers, attempt, policy=policy, stop=stop, attempts=ATTEMPTS)

    group = replay_group(kafka.group_id)
    sink = None if dry_run else OpenSearchSink(make_client(store), store)
    try:
        consumer = await reach(lambda: make_consumer(replace(kafka, group_id=group)))
        producer = None if dry_run else await reach(lambda: make_producer(kafka))
        if consumer is None or (producer is None and not dry_run):
            return Totals()  # stopped before the broker answered
        if sink is not None:
            prefixes = [route.index_prefix for route in config.router().all_routes]

            async def templates() -> None:
                await sink.install_templates(prefixes)
                if config.core.traces.enabled:
                    await install_trace_templates(sink.client, config.core.traces)

            await until_up(
                f"OpenSearch ({mask_url(store.url or '')})",
                templates,
                policy=policy,
                stop=stop,
                attempts=ATTEMPTS,
            )
        replayer = Replayer(
            config,
            consumer,
            selection,
            sink=sink,
            dead_letters=None
            if producer is None
            else KafkaDeadLetters(producer, kafka.dead_letter_topic),
            policy=policy,
            stop=stop,
            max_attempts=store.max_retries + 1,
        )
        return await replayer.run()
    finally:
        for client in reversed(clients):
            with contextlib.suppress(Exception):
                await client.stop()
        if sink is not None:
            with contextlib.suppress(Exception):
                await sink.close()
