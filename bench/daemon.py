"""``python -m bench daemon``: the real daemon (``cwlpipe run``) on a real broker, in one run.

A topic on the embedded Kafka-protocol broker (2 partitions) is filled with
the generated mix of ``bench core`` (its 10,000 events repeated to
``--events``), then, ``--rounds`` times (alternated, so a busy spell of the
machine falls on every measure alike):

1. **The core**: ``bench core``'s measure of ``Processor.process`` + bulk
   NDJSON, CPU time, with the collector set as the daemon sets it.
2. **The daemon's own ceiling**: ``cwlpipe run`` (the shipped default
   config, connections from ``CWLPIPE_*``) drains the topic into the
   blackhole (:mod:`bench.blackhole`, a bulk endpoint that acknowledges at
   once, in a process of its own). Its CPU time (every thread, from
   ``/proc``) while the blackhole receives the documents from 20% to 90% of
   the backlog gives events per CPU-second. Over the core's, measured by
   :class:`bench.meter.CoreMeter` over the same window, the meter and the
   daemon's processing thread pinned to the two CPUs and swapped ten times a
   second (a vCPU's speed drifts by up to 1.9x within seconds):
   ``ceiling_ratio`` (target >= 0.8).
3. **Scaling**: ``--workers 2`` on the same backlog, wall clock over the
   same window, against ``--workers 1``: ``workers_2_over_1`` (target >= 1.7
   on two cores). The blackhole holds the daemons' first store request until
   the consumer group is stable with every worker in it, so no rebalance
   falls inside a measure.

Both are steady-state rates, as a soak test measures them: each worker's
start-up (the store bootstrap, the collector's freeze) falls before the
window, and the pipeline is full at both of its ends. The whole drain's wall
and CPU time are reported beside them (``whole_*``).

Then **against raw bulk**, ``--store-rounds`` times: a fresh
OpenSearch-compatible local store (osmem) each run, every event new; a loader
sends the documents (NDJSON made beforehand, the sink's chunks, gzipped in the
loop as the sink gzips them, one request at a time as the sink sends them),
then the daemon drains the same documents from Kafka (from ``/readyz`` to its
last commit): ``store_ratio``, raw time / daemon time (target >= 0.95).

The broker, the blackhole and the store share the machine's cores with the
daemon. Each run reports ``foreign_load``: the cores' worth of CPU that
processes outside this benchmark spent meanwhile (other work on a shared
machine); a figure measured under foreign load is not the daemon's.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import TopicPartition

from bench.core import measure, mixed_deliveries
from bench.harness import (
    BlackholeProcess,
    CommitWatcher,
    DaemonProcess,
    Window,
    cpu_seconds,
    create_topics,
    daemon_version,
    group_members,
    local_broker,
    produce,
    thread_cpu_seconds,
    until,
)
from bench.meter import CoreMeter, busiest_thread, pin, pin_thread
from consumers.config import DEFAULT_CONFIG, load_config
from consumers.config.service import ServiceConfig
from consumers.devtools.local_servers import local_store
from consumers.opensearch.sink import compress_body, encode_document
from consumers.opensearch.templates import index_template, template_name
from consumers.runtime.protocols import Record
from pipeline.process import Processor

__all__ = ["main"]

BASE_EVENTS = 10_000
PARTITIONS = 2
DRAIN_TIMEOUT_S = 900.0
SWAP_S = 0.1  # how long the daemon and the core meter keep a CPU before they swap
WINDOW = (20, 90)  # percent of the documents: where rates are measured (see steady_window)
JOIN_TIMEOUT_S = 180.0


def _name(kind: str) -> str:
    return f"bench-{kind}-{uuid.uuid4().hex[:8]}"


class Backlog:
    """The generated mix, the Kafka values, and what the core makes of them.

    ``repeat`` sends the 10,000-event mix again and again (the same ids: a
    store overwrites them); otherwise every event is new (for the store runs).
    """

    def __init__(self, config: ServiceConfig, events: int, *, repeat: bool = True) -> None:
        self.base = mixed_deliveries(BASE_EVENTS if repeat else max(events, 1_000))
        self.repeats = max(1, round(events / BASE_EVENTS)) if repeat else 1
        self.values = self.base * self.repeats
        processor = Processor(config.core)
        origin = Record("bench", 0, 0, b"")
        self.base_bodies: list[list[bytes]] = []  # per delivery, each document's NDJSON
        base_events = 0
        for value in self.base:
            outcome = processor.process(value)
            base_events += outcome.events
            self.base_bodies.append([encode_document(a, origin).body for a in outcome.actions])
        self.events = base_events * self.repeats
        self.documents = sum(map(len, self.base_bodies)) * self.repeats


def core_events_per_s(deliveries: list[bytes], seconds: float) -> tuple[int, float]:
    """``bench core``'s whole-core rate (it runs under the daemon's collector settings); the
    foreign load meanwhile."""
    window = Window()
    return int(measure(deliveries, seconds)["events_per_s"]), window.foreign_load()


@dataclass
class Site:
    """Where the runs happen: the broker (and its process, for its CPU) and the daemons' logs."""

    bootstrap: str
    broker_pid: int | None
    log_dir: Path


def can_pin() -> bool:
    """Whether the core meter and the daemon's processing thread can each be pinned to a
    CPU of their own (Linux CPU affinity, two CPUs or more)."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


async def blackhole_run(
    site: Site, topic: str, backlog: Backlog, workers: int, *, metered: bool = False
) -> dict[str, Any]:
    """``cwlpipe run --workers N`` draining the topic into a fresh blackhole.

    ``metered`` (one worker): the daemon's processing thread and a
    :class:`bench.meter.CoreMeter` swap the two first CPUs between them (:func:`_swap_cpus`),
    and the core's rate over the daemon's window is reported beside the daemon's
    (``core_alongside_events_per_cpu_s``)."""
    group = _name(f"w{workers}")
    if not metered:
        return await _blackhole_run(site, topic, backlog, workers, group, None, [])
    with CoreMeter.running(backlog.base) as meter:
        cpus = sorted(os.sched_getaffinity(0))
        return await _blackhole_run(site, topic, backlog, workers, group, meter, cpus)


async def _blackhole_run(
    site: Site,
    topic: str,
    backlog: Backlog,
    workers: int,
    group: str,
    meter: CoreMeter | None,
    cpus: list[int],
) -> dict[str, Any]:
    alongside: dict[str, Any] = {}
    swapping: asyncio.Task[None] | None = None
    async with BlackholeProcess.running(gated=True) as hole:
        daemon = DaemonProcess.start(
            bootstrap=site.bootstrap,
            store_url=hole.url,
            topic=topic,
            group=group,
            dead_letters=_name("dlq"),
            workers=workers,
            log_dir=site.log_dir,
        )
        try:

            async def gathered() -> bool:
                daemon.check_running()
                return (
                    await hole.held() >= workers
                    and await group_members(site.bootstrap, group) == workers
                )

            await until(gathered, "the consumer group to settle", JOIN_TIMEOUT_S, every_s=0.1)
            swapping = (
                asyncio.create_task(_swap_cpus(daemon.pid, meter.pid, cpus[:2]))
                if meter is not None
                else None
            )
            whole_before = _cpu(daemon.pid)[0]
            opened = time.monotonic()
            await hole.open()
            first, last = steady_window(backlog.documents)
            await hole.wait(first, DRAIN_TIMEOUT_S)
            before = _cpu(daemon.pid, hole.process.pid, site.broker_pid)
            threads_before = thread_cpu_seconds(daemon.pid)
            window = Window()
            core_before = meter.reading() if meter is not None else None
            await hole.wait(last, DRAIN_TIMEOUT_S)
            wall = time.monotonic() - window.began
            if meter is not None and core_before is not None:
                alongside["core_alongside_events_per_cpu_s"] = round(
                    meter.reading().rate_since(core_before)
                )
            after = _cpu(daemon.pid, hole.process.pid, site.broker_pid)
            foreign = window.foreign_load()
            threads_after = thread_cpu_seconds(daemon.pid)
            await hole.wait(backlog.documents, DRAIN_TIMEOUT_S)
            whole_wall = time.monotonic() - opened
            whole_cpu = _cpu(daemon.pid)[0] - whole_before
            peak = daemon.peak_rss_kib()
        finally:
            if swapping is not None:
                swapping.cancel()
            status = daemon.stop()
        stats = await hole.stats()
    if status != 0:
        raise RuntimeError(f"cwlpipe run exited with {status}; log: {daemon.log}")
    if stats["documents"] != backlog.documents:
        raise RuntimeError(f"{stats['documents']} documents arrived for {backlog.documents}")
    cpu, hole_cpu, broker_cpu = (b - a for a, b in zip(before, after, strict=True))
    events = (last - first) * backlog.events / backlog.documents  # the window's share
    loop_cpu, process_cpu = (b - a for a, b in zip(threads_before, threads_after, strict=True))
    threads: dict[str, float] = {}
    if workers == 1:  # its event loop's thread and its processing thread (no supervisor)
        threads = {
            "loop_thread_cpu_s": round(loop_cpu, 2),
            "process_thread_cpu_s": round(process_cpu, 2),
        }
    return {
        "workers": workers,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 2),
        **threads,
        "window_documents": last - first,
        "events_per_s": round(events / wall),
        "events_per_cpu_s": round(events / cpu),
        # the whole drain, start-up, filling and emptying of the pipeline included
        "whole_wall_s": round(whole_wall, 3),
        "whole_cpu_s": round(whole_cpu, 2),
        "whole_events_per_cpu_s": round(backlog.events / whole_cpu),
        "blackhole_cpu_s": round(hole_cpu, 2),
        "broker_cpu_s": round(broker_cpu, 2),
        "foreign_load": foreign,
        "cores_busy": round((cpu + hole_cpu + broker_cpu) / wall, 2),  # ours, of the machine's
        "peak_rss_mb": round(peak / 1024, 1),
        "bulk_requests": stats["bulk_requests"],
        "unknown_store_calls": stats["unknown"],
        "pinned": meter is not None,
        **alongside,
    }


def steady_window(documents: int) -> tuple[int, int]:
    """The document counts at which a rate's window opens and closes: from 20% to 90% of the
    drain. Start-up (the store bootstrap, the collector's freeze, the group's join) falls
    before it, and the pipeline is full at both ends, so a batch processed before the window
    and written in it is matched by one processed in it and written after it."""
    return documents * WINDOW[0] // 100, documents * WINDOW[1] // 100


async def _swap_cpus(daemon: int, meter: int, cpus: list[int]) -> None:
    """The daemon's processing thread on one CPU and the core meter on the other, swapped
    every ``SWAP_S``: each vCPU's speed drifts on its own over seconds, so over a window of
    seconds both see each vCPU for half of it, at the same moments. Everything else floats
    (the daemon's event loop, the blackhole, the broker) and interrupts either alike, and the
    event loop runs beside the processing thread as in an unpinned daemon."""
    here, there = cpus
    while True:
        worker = busiest_thread(daemon)
        if worker is not None:
            pin_thread(worker, {here})
        pin(meter, {there})
        here, there = there, here
        await asyncio.sleep(SWAP_S)


def _cpu(*pids: int | None) -> tuple[float, ...]:
    return tuple(0.0 if pid is None else cpu_seconds(pid) for pid in pids)


async def daemon_into_store(
    site: Site, topic: str, ends: dict[TopicPartition, int], backlog: Backlog
) -> dict[str, Any]:
    """``cwlpipe run`` draining the topic into a fresh osmem, from ``/readyz`` to the last
    commit (polled: neither the store nor the broker can be asked to wait for it)."""
    group = _name("store")
    with local_store() as url:
        daemon = DaemonProcess.start(
            bootstrap=site.bootstrap,
            store_url=url,
            topic=topic,
            group=group,
            dead_letters=_name("dlq"),
            log_dir=site.log_dir,
        )
        try:
            async with (
                aiohttp.ClientSession() as session,
                CommitWatcher(site.bootstrap, group) as watcher,
            ):

                async def ready() -> bool:
                    daemon.check_running()
                    return await daemon.ready(session)

                began = await until(ready, "the daemon to be ready", JOIN_TIMEOUT_S, 0.01)
                cpu_before = daemon.cpu_seconds()
                window = Window()

                async def drained() -> bool:
                    daemon.check_running()
                    return await watcher.reached(ends)

                ended = await until(drained, "the drain into the store", DRAIN_TIMEOUT_S)
                cpu = daemon.cpu_seconds() - cpu_before
                foreign = window.foreign_load()
        finally:
            status = daemon.stop()
    if status != 0:
        raise RuntimeError(f"cwlpipe run exited with {status}; log: {daemon.log}")
    wall = ended - began
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 2), "foreign_load": foreign}


async def raw_bulk_into_store(backlog: Backlog, config: ServiceConfig) -> dict[str, Any]:
    """The same documents, NDJSON made beforehand, in the sink's chunks, gzipped at its level,
    one request at a time, into a fresh osmem with the daemon's index template."""
    settings = config.opensearch
    chunks = _chunks(backlog.base_bodies, settings.bulk_max_actions, settings.bulk_max_bytes)
    headers = {"content-type": "application/x-ndjson"}
    if settings.http_compress:
        headers["content-encoding"] = "gzip"
    with local_store() as url:
        async with aiohttp.ClientSession() as session:
            for prefix in {route.index_prefix for route in config.router().all_routes}:
                async with session.put(
                    f"{url}/_index_template/{template_name(prefix)}",
                    json=index_template(prefix, settings.total_fields_limit),
                ) as response:
                    response.raise_for_status()
            window = Window()
            began = time.perf_counter()
            for _ in range(backlog.repeats):
                for chunk in chunks:
                    body = chunk
                    if settings.http_compress:
                        body = compress_body(chunk, settings.compress_level)
                    async with session.post(f"{url}/_bulk", data=body, headers=headers) as r:
                        answer = orjson.loads(await r.read())
                    if r.status != 200 or answer.get("errors"):
                        raise RuntimeError(f"the store refused a bulk request: HTTP {r.status}")
            wall = time.perf_counter() - began
            foreign = window.foreign_load()
    return {"wall_s": round(wall, 3), "foreign_load": foreign}


async def store_rounds(
    site: Site, config: ServiceConfig, events: int, rounds: int, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    """Raw bulk then the daemon, ``rounds`` times, each on a fresh store, every event new (a
    store's overwrites cost more than its first writes)."""
    backlog = Backlog(config, events, repeat=False)
    topic = _name("store-logs")
    await create_topics(site.bootstrap, {topic: PARTITIONS})
    ends = await produce(site.bootstrap, topic, backlog.values, PARTITIONS)
    results = []
    for number in range(rounds):
        raw = await raw_bulk_into_store(backlog, config)
        daemon = await daemon_into_store(site, topic, ends, backlog)
        results.append(
            {
                "events": backlog.events,
                "raw_bulk": raw,
                "daemon": daemon,
                "ratio": round(raw["wall_s"] / daemon["wall_s"], 3),
            }
        )
        log(f"store round {number + 1}: {results[-1]}")
    return results


def _chunks(bodies: list[list[bytes]], max_actions: int, max_bytes: int) -> list[bytes]:
    """The sink's chunking (:meth:`OpenSearchSink.chunks`) over one copy of the mix."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    size = 0
    for body in (body for delivery in bodies for body in delivery):
        if current and (len(current) >= max_actions or size + len(body) > max_bytes):
            chunks.append(b"".join(current))
            current, size = [], 0
        current.append(body)
        size += len(body)
    if current:
        chunks.append(b"".join(current))
    return chunks


async def run(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    config = load_config(DEFAULT_CONFIG, env={})
    backlog = Backlog(config, args.events)
    log(
        f"backlog: {backlog.events:,} events in {len(backlog.values)} deliveries, "
        f"{backlog.documents:,} documents"
    )
    log_dir = Path(args.log_dir or tempfile.mkdtemp(prefix="cwlpipe-bench-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    result: dict[str, Any] = {
        "daemon": daemon_version(),  # which core it runs (make bench-compiled: the compiled one)
        "events": backlog.events,
        "deliveries": len(backlog.values),
        "documents": backlog.documents,
        "rounds": [],
    }
    with local_broker() as broker:
        site = Site(broker.bootstrap, broker.process.pid, log_dir)
        topic = _name("logs")
        await create_topics(site.bootstrap, {topic: PARTITIONS})
        await produce(site.bootstrap, topic, backlog.values, PARTITIONS)
        log(f"produced to {topic} ({PARTITIONS} partitions)")
        for number in range(args.rounds):  # alternated, so a busy spell falls on every measure
            core, foreign = core_events_per_s(backlog.base, args.core_seconds)
            one = await blackhole_run(site, topic, backlog, 1)
            two = await blackhole_run(site, topic, backlog, 2)
            measured = {
                "core_events_per_s": core,
                "core_foreign_load": foreign,
                "workers_1": one,
                "workers_2": two,
                # against bench core's measure, taken before the runs (another CPU speed, maybe)
                "ceiling_ratio_alternated": round(one["events_per_cpu_s"] / core, 3),
                "workers_2_over_1": round(two["events_per_s"] / one["events_per_s"], 3),
            }
            if can_pin():  # the daemon and the core on one CPU, over the same window
                pinned = await blackhole_run(site, topic, backlog, 1, metered=True)
                measured["workers_1_pinned"] = pinned
                measured["ceiling_ratio"] = round(
                    pinned["events_per_cpu_s"] / pinned["core_alongside_events_per_cpu_s"], 3
                )
            else:
                measured["ceiling_ratio"] = measured["ceiling_ratio_alternated"]
            result["rounds"].append(measured)
            log(f"round {number + 1}: {measured}")
        if args.store_events:
            result["store_rounds"] = await store_rounds(
                site, config, args.store_events, args.store_rounds, log
            )
    rounds = result["rounds"]
    for key in ("ceiling_ratio", "ceiling_ratio_alternated", "workers_2_over_1"):
        result[key] = statistics.median(r[key] for r in rounds)
    result["core_events_per_s"] = round(statistics.median(r["core_events_per_s"] for r in rounds))
    for key in ("events_per_cpu_s", "events_per_s"):
        result[f"daemon_{key}"] = round(statistics.median(r["workers_1"][key] for r in rounds))
    result["daemon_2_workers_events_per_s"] = round(
        statistics.median(r["workers_2"]["events_per_s"] for r in rounds)
    )
    if "store_rounds" in result:
        result["store_ratio"] = statistics.median(r["ratio"] for r in result["store_rounds"])
    result["log_dir"] = str(log_dir)
    return result


TARGETS = {"ceiling_ratio": 0.8, "workers_2_over_1": 1.7, "store_ratio": 0.95}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench daemon", description=__doc__)
    parser.add_argument("--events", type=int, default=200_000, help="backlog size (events)")
    parser.add_argument(
        "--core-seconds", type=float, default=1.5, help="CPU seconds per path, core measure"
    )
    parser.add_argument("--rounds", type=int, default=3, help="core, --workers 1, --workers 2")
    parser.add_argument(
        "--store-events",
        type=int,
        default=20_000,
        help="events of the store runs (osmem indexes ~1k documents/s; 0: skip them)",
    )
    parser.add_argument("--store-rounds", type=int, default=3, help="raw/daemon alternations")
    parser.add_argument("--log-dir", help="where the daemons' logs go (default: a temp dir)")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    result = asyncio.run(run(args, log))
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
        return 0
    print(f"core                         {result['core_events_per_s']:>10,} events/CPU-s")
    print(f"daemon into the blackhole    {result['daemon_events_per_cpu_s']:>10,} events/CPU-s")
    print(f"  --workers 1                {result['daemon_events_per_s']:>10,} events/s (wall)")
    print(f"  --workers 2                {result['daemon_2_workers_events_per_s']:>10,} events/s")
    for store in result.get("store_rounds", []):
        raw, daemon = store["raw_bulk"]["wall_s"], store["daemon"]["wall_s"]
        print(f"osmem: raw bulk {raw} s, daemon {daemon} s")
    print("medians over the rounds:")
    for key, target in TARGETS.items():
        if key in result:
            verdict = "ok" if result[key] >= target else "MISSED"
            print(f"{key:28} {result[key]:>10.3f}  (target >= {target}) {verdict}")
    return 0
