"""``cwlpipe validate --connect``'s Kafka check: reach the bootstrap, list topics."""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError

from consumers.config.connections import KafkaConfig
from consumers.kafka.source import make_consumer
from consumers.runtime.reach import Check, tcp_reach

__all__ = ["check_kafka"]

KAFKA_PORT = 9092


async def check_kafka(
    settings: KafkaConfig, timeout_s: float, trace_topics: tuple[str, ...] = ()
) -> list[Check]:
    """Two checks: the cluster answers metadata requests; the input topics exist.

    A missing dead-letter topic is only mentioned: brokers that auto-create
    topics make it on the first dead letter. So are missing trace topics: traces
    are on by default, and a deployment that sends none needs no topic for them.
    """
    addresses = [a for a in settings.bootstrap_servers.split(",") if a.strip()]
    failures = [await tcp_reach(a, KAFKA_PORT, timeout_s) for a in addresses]
    if all(failures):
        return [Check("kafka", False, "; ".join(f for f in failures if f))]
    try:
        topics = await _topics(settings, timeout_s)
    except TimeoutError:
        return [Check("kafka", False, f"no metadata within {timeout_s:g} s")]
    except (KafkaError, OSError, ValueError) as error:  # OSError: TLS set-up
        return [Check("kafka", False, f"{type(error).__name__}: {error}")]
    reached = Check("kafka", True, f"{settings.bootstrap_servers}, {len(topics)} topics")
    missing = [t for t in settings.input_topics if t not in topics]
    inputs = ", ".join(settings.input_topics)
    dead = settings.dead_letter_topic
    note = "" if dead in topics else f"; dead-letter topic {dead} does not exist yet"
    no_traces = [t for t in trace_topics if t not in topics]
    if no_traces:
        note += f"; trace topics {', '.join(no_traces)} do not exist (no traces are read)"
    if missing:
        detail = f"input topics missing: {', '.join(missing)}{note}"
        return [reached, Check("kafka topics", False, detail)]
    return [reached, Check("kafka topics", True, f"input topics {inputs} exist{note}")]


async def _topics(settings: KafkaConfig, timeout_s: float) -> set[str]:
    consumer = make_consumer(settings)
    try:
        await asyncio.wait_for(consumer.start(), timeout_s)
        topics: set[str] = await asyncio.wait_for(consumer.topics(), timeout_s)
        return topics
    finally:
        await consumer.stop()
