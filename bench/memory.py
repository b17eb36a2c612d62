"""``python -m bench memory``: peak resident memory of the daemon and of ``cwlpipe process``.

1. **A backlog.** ``cwlpipe run`` (the shipped default config) drains a
   900,000-event backlog (the generated mix of ``bench core``) from the
   embedded broker into the blackhole; its peak RSS (``VmHWM``). Target
   < 200 MB.
2. **Bursts.** The same daemon, its peak reset (``/proc/PID/clear_refs``),
   then a producer at a normal rate (a fifth of the rate at which it drained
   the backlog, start-up included) with bursts of ten times that rate (about
   twice what the daemon drains, so a backlog builds up and is drained
   again): 4 s normal, 2 s burst, ``--burst-cycles`` times, until everything
   is written; its peak RSS. Target < 200 MB.
3. **``cwlpipe process`` on a Firehose object** of 40,000 events (gzip
   members back to back, as Firehose writes them to S3): documents to the
   store (the blackhole) and to stdout (``/dev/null``); the peak RSS of the
   child from ``wait4``. Target < 150 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from bench.core import mixed_deliveries
from bench.harness import (
    PROJECT,
    BlackholeProcess,
    DaemonProcess,
    create_topics,
    daemon_version,
    local_broker,
    produce,
    reset_peak_rss,
)
from consumers.config import DEFAULT_CONFIG, load_config
from pipeline.process import Processor

__all__ = ["main"]

BASE_EVENTS = 10_000
PARTITIONS = 2
DRAIN_TIMEOUT_S = 900.0
TARGETS_MB = {"backlog": 200, "bursts": 200, "process_store": 150, "process_stdout": 150}


def _name(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:8]}"


def _mb(kib: int) -> float:
    return round(kib / 1024, 1)


@dataclass
class Mix:
    """The 10,000-event mix and the documents each delivery makes."""

    deliveries: list[bytes]
    documents: list[int]
    events_per_delivery: int

    @classmethod
    def generate(cls) -> Mix:
        deliveries = mixed_deliveries(BASE_EVENTS)
        processor = Processor(load_config(DEFAULT_CONFIG, env={}).core)
        documents = [len(processor.process(value).actions) for value in deliveries]
        return cls(deliveries, documents, BASE_EVENTS // len(deliveries))


async def bursts(
    bootstrap: str, topic: str, mix: Mix, normal_per_s: float, pattern: list[tuple[float, float]]
) -> tuple[int, int]:
    """Produce ``pattern`` (seconds, multiple of the normal rate) in deliveries; the deliveries
    and documents sent."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent = documents = 0
    tick = 0.05
    try:
        for seconds, multiple in pattern:
            owed = 0.0
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                began = time.monotonic()
                owed += normal_per_s * multiple * tick
                futures = []
                while owed >= 1:
                    index = sent % len(mix.deliveries)
                    futures.append(
                        await producer.send(
                            topic, mix.deliveries[index], partition=sent % PARTITIONS
                        )
                    )
                    documents += mix.documents[index]
                    sent += 1
                    owed -= 1
                await asyncio.gather(*futures)
                await asyncio.sleep(max(0.0, tick - (time.monotonic() - began)))
    finally:
        await producer.stop()
    return sent, documents


async def daemon_memory(events: int, burst_cycles: int, log_dir: Path, log: Any) -> dict[str, Any]:
    mix = Mix.generate()
    repeats = max(1, round(events / BASE_EVENTS))
    result: dict[str, Any] = {"backlog_events": repeats * BASE_EVENTS}
    expected = sum(mix.documents) * repeats
    with local_broker() as broker:
        topic = _name("logs")
        await create_topics(broker.bootstrap, {topic: PARTITIONS})
        await produce(broker.bootstrap, topic, mix.deliveries * repeats, PARTITIONS)
        log(f"produced {repeats * BASE_EVENTS:,} events to {topic}")
        async with BlackholeProcess.running() as hole:
            daemon = DaemonProcess.start(
                bootstrap=broker.bootstrap,
                store_url=hole.url,
                topic=topic,
                group=_name("memory"),
                dead_letters=_name("dlq"),
                log_dir=log_dir,
            )
            try:
                began = time.monotonic()
                await hole.wait(expected, DRAIN_TIMEOUT_S)
                drain_rate = repeats * BASE_EVENTS / (time.monotonic() - began)  # with start-up
                result["backlog_peak_rss_mb"] = _mb(daemon.peak_rss_kib())
                log(f"backlog drained: peak RSS {result['backlog_peak_rss_mb']} MB")
                result["peak_reset"] = reset_peak_rss(daemon.pid)
                normal = drain_rate / 5 / mix.events_per_delivery  # deliveries per second
                pattern = [(4.0, 1.0), (2.0, 10.0)] * burst_cycles + [(2.0, 1.0)]
                sent, documents = await bursts(broker.bootstrap, topic, mix, normal, pattern)
                await hole.wait(expected + documents, DRAIN_TIMEOUT_S)
                result["bursts_peak_rss_mb"] = _mb(daemon.peak_rss_kib())
                result["burst_normal_events_per_s"] = round(normal * mix.events_per_delivery)
                result["burst_events"] = sent * mix.events_per_delivery
                log(f"bursts drained: peak RSS {result['bursts_peak_rss_mb']} MB")
            finally:
                status = daemon.stop()
        if status != 0:
            raise RuntimeError(f"cwlpipe run exited with {status}; log: {daemon.log}")
    return result


async def process_memory(events: int, work: Path) -> dict[str, Any]:
    """``cwlpipe process`` on one Firehose object: to the blackhole, then to /dev/null."""
    firehose = work / "firehose-object.gz"
    firehose.write_bytes(b"".join(mixed_deliveries(events)))
    result: dict[str, Any] = {"firehose_events": events, "firehose_bytes": firehose.stat().st_size}
    async with BlackholeProcess.running() as hole:
        peak, status = await asyncio.to_thread(
            _peak_of, ["process", str(firehose)], {"CWLPIPE_OPENSEARCH_URL": hole.url}
        )
        received = (await hole.stats())["documents"]
    if status != 0:
        raise RuntimeError(f"cwlpipe process (store) exited with {status}")
    result["process_store_peak_rss_mb"] = _mb(peak)
    result["process_store_documents"] = received
    peak, status = await asyncio.to_thread(
        _peak_of, ["process", "--documents", "stdout", str(firehose)], {}
    )
    if status != 0:
        raise RuntimeError(f"cwlpipe process (stdout) exited with {status}")
    result["process_stdout_peak_rss_mb"] = _mb(peak)
    return result


def _peak_of(arguments: list[str], env: dict[str, str]) -> tuple[int, int]:
    """Run ``cwlpipe ARGUMENTS``; its own peak RSS (KiB, from wait4) and exit status."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CWLPIPE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", *arguments],
        env=environment | env,
        cwd=PROJECT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss, process.returncode


async def run(args: argparse.Namespace, log: Any) -> dict[str, Any]:
    work = Path(args.log_dir or tempfile.mkdtemp(prefix="cwlpipe-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {"daemon": daemon_version()}
    result |= await daemon_memory(args.events, args.burst_cycles, work, log)
    result |= await process_memory(args.firehose_events, work)
    result["log_dir"] = str(work)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench memory", description=__doc__)
    parser.add_argument("--events", type=int, default=900_000, help="backlog size (events)")
    parser.add_argument("--burst-cycles", type=int, default=3, help="bursts of 10x, 2 s each")
    parser.add_argument(
        "--firehose-events", type=int, default=40_000, help="events in the Firehose object"
    )
    parser.add_argument("--log-dir", help="where logs and the Firehose object go")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = asyncio.run(run(args, log))
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return 0
    for what, target in TARGETS_MB.items():
        peak = result[f"{what}_peak_rss_mb"]
        verdict = "ok" if peak < target else "MISSED"
        print(f"{what:16} peak RSS {peak:>7.1f} MB  (target < {target} MB) {verdict}")
    return 0
