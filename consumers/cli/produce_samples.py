"""``cwlpipe produce-samples``: send the project's generated sample deliveries to a topic.

For trying a real deployment (the docker-compose producer uses it): good and
bad deliveries with current timestamps, once or every ``--every`` seconds, and
the X-Ray traces of the same requests when traces are on.
Topics are created when missing. ``--to-dir DIR`` writes them as files
instead, one per delivery as CloudWatch sends it, for ``cwlpipe process``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from consumers.cli import arguments
from consumers.cli.common import EXIT_CONFIG, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.devtools.sample_data import sample_payloads, write_sample_files
from consumers.devtools.sample_traces import sample_trace_records
from consumers.kafka.source import make_producer, produce_values
from consumers.runtime.errors import describe
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError, until_up

__all__ = ["register", "run"]

#: a one-shot command waits a little for a broker that is starting, not forever
RETRY = RetryPolicy(0.5, 4.0)
ATTEMPTS = 6


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "produce-samples",
        help="produce generated sample deliveries to the input topic",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--every", type=arguments.seconds, default=0, help="repeat every N seconds (0: once)"
    )
    target.add_argument(
        "--to-dir", type=Path, metavar="DIR", help="write one file per delivery to DIR, no Kafka"
    )
    parser.add_argument(
        "--partitions", type=arguments.count, default=3, help="for topics it creates"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.to_dir is not None:
        try:
            payloads = write_sample_files(args.to_dir, int(time.time() * 1000))
        except OSError as error:
            print(f"cwlpipe produce-samples: cannot write: {error}", file=sys.stderr)
            return 1
        bad = sum(not p.good for p in payloads)
        print(
            f"wrote {len(payloads)} deliveries to {args.to_dir} "
            f"({len(payloads) - bad} good, {bad} bad: the bad-* files are refused by design)"
        )
        return 0
    config = load("produce-samples", args.config)
    if config is None:
        return EXIT_CONFIG
    settings = config.kafka

    brokers = f"Kafka ({settings.bootstrap_servers})"

    async def reach(client: Any, close: str) -> Any:
        """``client`` started, waiting a little for the broker; closed again if it never is."""

        async def start() -> Any:
            await client.start()
            return client

        try:
            return await until_up(
                brokers, start, policy=RETRY, stop=StopSignal(), attempts=ATTEMPTS
            )
        except BaseException:
            with contextlib.suppress(Exception):
                await getattr(client, close)()
            raise

    async def produce() -> None:
        admin = await reach(
            AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers), "close"
        )
        try:
            topics = [*config.input_topics, settings.dead_letter_topic]
            existing = set(await admin.list_topics())
            missing = [NewTopic(t, args.partitions, 1) for t in topics if t not in existing]
            if missing:
                with contextlib.suppress(TopicAlreadyExistsError):  # another producer was first
                    await admin.create_topics(missing)
        finally:
            await admin.close()
        producer = await reach(make_producer(settings), "stop")
        try:
            seed = 0
            while True:
                payloads = sample_payloads(int(time.time() * 1000), seed=seed)
                await produce_values(producer, settings.input_topics[0], [p.data for p in payloads])
                print(f"produced {len(payloads)} deliveries to {settings.input_topics[0]}")
                if config.core.traces.enabled:  # the same requests' traces
                    traces = sample_trace_records(int(time.time() * 1000), seed=seed)
                    topic = config.core.traces.input_topics[0]
                    await produce_values(producer, topic, [t.data for t in traces], 1)
                    print(f"produced {len(traces)} X-Ray trace records to {topic}")
                if args.every <= 0:
                    return
                seed += 1
                await asyncio.sleep(args.every)
        finally:
            await producer.stop()

    try:
        asyncio.run(produce())
    except StartupError as error:
        print(f"cwlpipe produce-samples: {error}", file=sys.stderr)
        return 1
    except KafkaError as error:
        print(f"cwlpipe produce-samples: Kafka: {describe(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0
