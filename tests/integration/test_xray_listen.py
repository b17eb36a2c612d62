"""``cwlpipe xray-listen`` on a real broker, fed real UDP datagrams the way X-Ray SDKs send them:
one ``socket.sendto`` of header, newline and segment document to 127.0.0.1:<port>."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import orjson
import pytest
from aiokafka import AIOKafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from consumers.config.service import parse_config
from consumers.devtools.local_servers import LocalBroker, free_port
from consumers.kafka.source import make_producer
from consumers.xray.accounting import BAD_HEADER, TOO_LARGE, UNSENT
from consumers.xray.listener import ListenerSettings, XRayListener
from pipeline.traces import spans_from_segment, split_daemon_packet
from tests.integration.kafka_helpers import create_topics, eventually, read_all, unique

pytestmark = pytest.mark.integration

SPACED = b'{"format": "json", "version": 1}\n'
COMPACT = b'{"format":"json","version":1}\n'
#: the largest UDP payload IPv4 carries: it must arrive whole and be published whole
LARGEST_UDP_PAYLOAD = 65_507
RECEIVED = "cwlpipe_xray_datagrams_received_total"
#: datagrams sent before waiting for them to be read: the kernel drops what its buffer cannot hold
CHUNK = 100


def segment(name: str, pad: int = 0) -> bytes:
    document = {
        "trace_id": "1-5759e988-bd862e3fe1be46a994272793",
        "id": f"{abs(hash(name)) % (1 << 64):016x}",
        "name": name,
        "start_time": time.time() - 1,
        "end_time": time.time(),
    }
    if pad:
        document["annotations"] = {"pad": ""}
        document["annotations"]["pad"] = "x" * (pad - len(orjson.dumps(document)))
    return orjson.dumps(document)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def send(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        for datagram in datagrams:
            sender.sendto(datagram, ("127.0.0.1", port))


def write_config(tmp_path: Path, bootstrap: str, topic: str, deadline_s: float = 10) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f'kafka: {{bootstrap_servers: "{bootstrap}"}}\n'
        f"traces: {{input_topics: [{topic}]}}\n"
        f"shutdown_deadline_s: {deadline_s}\n"
    )
    return path


class ListenerProcess:
    """``cwlpipe xray-listen`` as operators run it: a subprocess, stopped with a signal."""

    def __init__(self, config: Path, log: Path) -> None:
        self.udp_port = free_udp_port()
        self.metrics_port = free_port()
        self.log = log
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "consumers.cli",
                "xray-listen",
                "--config",
                str(config),
                "--listen",
                f"127.0.0.1:{self.udp_port}",
                "--metrics-port",
                str(self.metrics_port),
            ],
            stdout=subprocess.PIPE,
            stderr=log.open("wb"),
        )

    async def get(self, path: str) -> tuple[int, str] | None:
        assert self.process.poll() is None, f"exited with {self.process.returncode}: {self.logs()}"
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{self.metrics_port}{path}") as answer,
            ):
                return answer.status, await answer.text()
        except aiohttp.ClientError:
            return None

    async def ready(self) -> bool:
        answer = await self.get("/readyz")
        return answer is not None and answer[0] == 200

    async def metrics(self) -> Counter[str]:
        answer = await self.get("/metrics")
        found: Counter[str] = Counter()
        for family in text_string_to_metric_families(answer[1] if answer else ""):
            for sample in family.samples:
                reason = sample.labels.get("reason")
                found[f"{sample.name}{{{reason}}}" if reason else sample.name] += sample.value
        return found

    async def when_received(self, count: int) -> Counter[str]:
        async def enough() -> Counter[str] | None:
            found = await self.metrics()
            return found if found[RECEIVED] >= count else None

        return await eventually(enough, f"{count} datagrams received", timeout=30)

    def terminate(self) -> tuple[int, float, str]:
        """SIGTERM; the exit status, the seconds it took and the last line of stdout."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        out, _ = self.process.communicate(timeout=60)
        lines = out.decode().strip().splitlines()
        return self.process.returncode, time.monotonic() - began, lines[-1] if lines else ""

    def logs(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


async def all_values(bootstrap: str, topic: str, count: int) -> list[bytes]:
    """Every record of ``topic``, whatever number of partitions it was created with."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        await consumer.topics()
        partitions = len(consumer.partitions_for_topic(topic) or {0})
    finally:
        await consumer.stop()
    return [r.value for r in await read_all(bootstrap, topic, count, partitions=partitions)]


async def test_sdk_datagrams_land_on_the_trace_topic_byte_for_byte_and_bad_ones_do_not(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = unique("traces")
    await create_topics(kafka_bootstrap, {topic: 1})
    listener = ListenerProcess(write_config(tmp_path, kafka_bootstrap, topic), tmp_path / "log")
    try:
        await eventually(listener.ready, "the listener to reach Kafka", timeout=30)
        good = [
            SPACED + segment("spaced-header"),
            COMPACT + segment("compact-header"),
            COMPACT + segment("largest", pad=LARGEST_UDP_PAYLOAD - len(COMPACT)),
        ]
        assert len(good[2]) == LARGEST_UDP_PAYLOAD
        bad = [b'{"format": "xml", "version": 1}\n' + segment("x"), segment("no-header")]
        send(listener.udp_port, good[0], bad[0], good[1], bad[1], good[2])
        metrics = await listener.when_received(5)
        code, _, totals = listener.terminate()
    finally:
        listener.kill()
    assert code == 0, listener.logs()
    assert sorted(await all_values(kafka_bootstrap, topic, 3)) == sorted(good)
    assert metrics[f"cwlpipe_xray_datagrams_dropped_total{{{BAD_HEADER}}}"] == 2
    assert totals == (
        "cwlpipe xray-listen: 5 datagrams received, 3 published, 2 dropped (2 bad header)"
    )
    logged = [line for line in listener.logs().splitlines() if "bad header" in line]
    assert len(logged) == 1, logged  # rate-limited: the second within the window is counted only
    assert "Traceback" not in listener.logs()


async def test_an_oversized_datagram_is_counted_and_not_published(kafka_bootstrap: str) -> None:
    # No UDP payload over IPv4 can pass the real 64 KiB bound (65,507 bytes is the most), so
    # this listener runs with a smaller one to see the check work on a real socket.
    topic = unique("traces")
    await create_topics(kafka_bootstrap, {topic: 1})
    kafka = parse_config(f'kafka: {{bootstrap_servers: "{kafka_bootstrap}"}}\n', "t.yaml").kafka
    settings = ListenerSettings(
        "127.0.0.1", 0, topic, brokers=kafka_bootstrap, max_datagram_bytes=4096
    )
    listener = XRayListener(settings, lambda: make_producer(kafka))
    task = asyncio.create_task(listener.serve())

    async def ready() -> bool:
        return listener.ready()

    async def published(count: int) -> bool:
        return listener.books.published >= count

    await eventually(ready, "the listener to reach Kafka", timeout=30, watch=[task])
    assert listener.address is not None
    oversized = COMPACT + segment("big", pad=6000)
    fits = COMPACT + segment("fits")
    send(listener.address[1], oversized, fits)
    await eventually(lambda: published(1), "the datagram that fits", timeout=30, watch=[task])
    listener.request_stop()
    await asyncio.wait_for(task, 15)
    assert listener.books.dropped == {TOO_LARGE: 1}
    assert listener.books.received == 2
    assert await all_values(kafka_bootstrap, topic, 1) == [fits]


async def test_sigterm_flushes_what_was_received_and_exits_0_within_the_deadline(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic, count, deadline_s = unique("traces"), 2000, 8.0
    await create_topics(kafka_bootstrap, {topic: 1})
    config = write_config(tmp_path, kafka_bootstrap, topic, deadline_s)
    listener = ListenerProcess(config, tmp_path / "log")
    try:
        await eventually(listener.ready, "the listener to reach Kafka", timeout=30)
        datagrams = [SPACED + segment(f"request-{i}") for i in range(count)]
        for start in range(0, count, CHUNK):  # within what the socket's receive buffer holds
            send(listener.udp_port, *datagrams[start : start + CHUNK])
            await listener.when_received(start + CHUNK)
        code, took, totals = listener.terminate()
    finally:
        listener.kill()
    assert code == 0, listener.logs()
    assert took < deadline_s
    assert (
        totals == f"cwlpipe xray-listen: {count} datagrams received, {count} published, 0 dropped"
    )
    assert sorted(await all_values(kafka_bootstrap, topic, count)) == sorted(datagrams)


async def test_sigterm_while_kafka_is_away_exits_0_within_the_deadline_counting_the_unsent(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    deadline_s = 3.0
    broker = LocalBroker.start()
    listener = ListenerProcess(
        write_config(tmp_path, broker.bootstrap, "traces-away", deadline_s), tmp_path / "log"
    )
    try:
        await eventually(listener.ready, "the listener to reach Kafka", timeout=30)
        broker.stop()
        send(listener.udp_port, *(SPACED + segment(f"lost-{i}") for i in range(3)))
        await listener.when_received(3)
        code, took, totals = listener.terminate()
    finally:
        listener.kill()
        broker.stop()
    assert code == 0, listener.logs()
    assert took < deadline_s + 1.5  # the deadline, plus the interpreter's own exit
    assert totals == (
        f"cwlpipe xray-listen: 3 datagrams received, 0 published, 3 dropped (3 {UNSENT})"
    )


async def test_a_broker_down_at_start_is_waited_for_and_what_arrived_meanwhile_is_published(
    tmp_path: Path, kafka_bootstrap: str
) -> None:
    port = free_port()
    topic = unique("traces")
    listener = ListenerProcess(write_config(tmp_path, f"127.0.0.1:{port}", topic), tmp_path / "log")
    broker = None
    try:
        await eventually(lambda: listener.get("/healthz"), "the metrics endpoint", timeout=30)
        early = SPACED + segment("before-kafka")
        send(listener.udp_port, early)
        await listener.when_received(1)
        assert not await listener.ready()
        broker = LocalBroker.start(port)
        await eventually(listener.ready, "the listener to reach Kafka", timeout=60)
        late = COMPACT + segment("after-kafka")
        send(listener.udp_port, late)
        assert sorted(await all_values(broker.bootstrap, topic, 2)) == sorted([early, late])
        code, _, totals = listener.terminate()
    finally:
        listener.kill()
        if broker is not None:
            broker.stop()
    assert code == 0
    assert totals == "cwlpipe xray-listen: 2 datagrams received, 2 published, 0 dropped"
    assert "not reachable" in listener.logs()
    assert "Traceback" not in listener.logs()


async def test_the_aws_xray_sdk_emitter_reaches_the_topic_and_the_core_reads_its_span(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    udp_emitter = pytest.importorskip("aws_xray_sdk.core.emitters.udp_emitter")
    from aws_xray_sdk.core.models.segment import Segment

    topic = unique("traces")
    await create_topics(kafka_bootstrap, {topic: 1})
    listener = ListenerProcess(write_config(tmp_path, kafka_bootstrap, topic), tmp_path / "log")
    try:
        await eventually(listener.ready, "the listener to reach Kafka", timeout=30)
        sdk_segment = Segment("checkout")
        sdk_segment.put_annotation("order", "o-1")
        sdk_segment.close()
        emitter = udp_emitter.UDPEmitter(f"127.0.0.1:{listener.udp_port}")
        emitter.send_entity(sdk_segment)
        await listener.when_received(1)
        code, _, _ = listener.terminate()
    finally:
        listener.kill()
    assert code == 0, listener.logs()
    (value,) = await all_values(kafka_bootstrap, topic, 1)
    expected = f"{udp_emitter.PROTOCOL_HEADER}{udp_emitter.PROTOCOL_DELIMITER}"
    assert value == (expected + sdk_segment.serialize()).encode()
    (span,) = spans_from_segment(split_daemon_packet(value))
    assert span["spanId"] == sdk_segment.id
    assert span["serviceName"] == "checkout"


def test_a_udp_port_already_taken_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "consumers.cli",
                "xray-listen",
                "--config",
                str(write_config(tmp_path, f"127.0.0.1:{free_port()}", "t")),
                "--listen",
                f"127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"cwlpipe xray-listen: cannot listen on UDP 127.0.0.1:{port}: Address already in use"
    ]
    assert done.stdout == ""
