"""What the daemon and memory benchmarks share: the local broker and a backlog on it, the
blackhole and ``cwlpipe run`` as processes of their own, and reading CPU time and peak RSS
from ``/proc``.

Every server is started in its own session and ended by its process group, so nothing
outlives the benchmark.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from consumers.devtools.local_servers import LocalBroker, free_ports

__all__ = [
    "BlackholeProcess",
    "CommitWatcher",
    "DaemonProcess",
    "Window",
    "cpu_seconds",
    "create_topics",
    "daemon_version",
    "group_members",
    "local_broker",
    "peak_rss_kib",
    "produce",
    "reset_peak_rss",
    "stop_process",
    "thread_cpu_seconds",
    "until",
]

PROJECT = Path(__file__).resolve().parent.parent
_TICK = os.sysconf("SC_CLK_TCK")


# -- /proc ------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
            found += [int(child) for child in text.split()]
    return found


def _tree(pid: int) -> list[int]:
    pids, queue = [], [pid]
    while queue:
        current = queue.pop()
        pids.append(current)
        queue += _children(current)
    return pids


def cpu_seconds(pid: int) -> float:
    """User + system CPU of ``pid`` and its descendants (all their threads), so far."""
    total = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{member}/stat").read_text()
            fields = text[text.rindex(")") + 2 :].split()  # the name may hold spaces
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / _TICK


def thread_cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU of ``pid``'s main thread (the daemon's event loop) and of its other Python threads
    (the daemon's processing thread); libuv's own workers are left out."""
    main = other = 0
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                text = Path(f"/proc/{pid}/task/{task}/stat").read_text()
                name = text[text.index("(") + 1 : text.rindex(")")]
                fields = text[text.rindex(")") + 2 :].split()
                ticks = int(fields[11]) + int(fields[12])
                if int(task) == pid:
                    main += ticks
                elif not name.startswith("libuv"):
                    other += ticks
    return main / _TICK, other / _TICK


def _machine_busy_s() -> float:
    """CPU seconds every core of the machine has spent not idle, since boot."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(value) for value in fields[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / _TICK


class Window:
    """The CPU the rest of the machine spent while a measure ran: other sessions, not this
    benchmark's tree (itself, the daemon, the broker, the blackhole, the store)."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.busy = _machine_busy_s()
        self.ours = cpu_seconds(os.getpid())

    def foreign_load(self) -> float:
        """Cores' worth of foreign work on average (0: the machine was ours alone)."""
        wall = time.monotonic() - self.began
        busy = _machine_busy_s() - self.busy
        ours = cpu_seconds(os.getpid()) - self.ours
        return round(max(0.0, busy - ours) / wall, 2) if wall > 0 else 0.0


def peak_rss_kib(pid: int) -> int:
    """The largest of the tree's peak resident set sizes (``VmHWM``), KiB."""
    peak = 0
    for member in _tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
    return peak


def reset_peak_rss(pid: int) -> bool:
    """Start ``VmHWM`` again from the current RSS (Linux >= 4.0); False where not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def stop_process(process: subprocess.Popen[Any], grace_s: float = 30.0) -> int:
    """SIGTERM, then its whole process group is killed after ``grace_s``; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(grace_s)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)  # anything it left behind in its session
    return process.wait()


# -- the broker and a backlog -----------------------------------------------------------------


@contextlib.contextmanager
def local_broker() -> Iterator[LocalBroker]:
    """The embedded Kafka-protocol broker (tansu, in memory)."""
    broker = LocalBroker.start()
    try:
        yield broker
    finally:
        broker.stop()


async def create_topics(bootstrap: str, topics: dict[str, int]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, count, 1) for name, count in topics.items()])
    finally:
        await admin.close()


async def produce(
    bootstrap: str,
    topic: str,
    values: Sequence[bytes],
    partitions: int,
    *,
    in_flight: int = 64,
) -> dict[TopicPartition, int]:
    """Round-robin over ``partitions``, ``in_flight`` sends at a time; the end offsets."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    ends: dict[TopicPartition, int] = {}
    try:
        for first in range(0, len(values), in_flight):
            sent = [
                await producer.send(topic, value, partition=(first + i) % partitions)
                for i, value in enumerate(values[first : first + in_flight])
            ]
            for meta in await asyncio.gather(*sent):
                where = TopicPartition(topic, meta.partition)
                ends[where] = max(ends.get(where, 0), meta.offset + 1)
    finally:
        await producer.stop()
    return ends


async def group_members(bootstrap: str, group: str) -> int:
    """Members of a group that is stable (0 while it rebalances or does not exist)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        for answer in await admin.describe_consumer_groups([group]):
            for described in answer.groups:
                if described[0] == 0 and described[2] == "Stable":  # error code, state
                    return len(described[5])
        return 0
    finally:
        await admin.close()


class CommitWatcher:
    """Reads a group's committed offsets again and again without joining the group."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )

    async def __aenter__(self) -> CommitWatcher:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def reached(self, ends: dict[TopicPartition, int]) -> bool:
        """Every partition committed up to its end offset."""
        for partition, end in ends.items():
            if (await self.consumer.committed(partition) or 0) < end:
                return False
        return True


# -- the blackhole ----------------------------------------------------------------------------


class BlackholeProcess:
    """``python -m bench.blackhole`` in a process of its own, and its control endpoints."""

    def __init__(self, url: str, process: asyncio.subprocess.Process) -> None:
        self.url = url
        self.process = process
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    @classmethod
    @contextlib.asynccontextmanager
    async def running(cls, *, gated: bool = False) -> AsyncIterator[BlackholeProcess]:
        command = [sys.executable, "-m", "bench.blackhole", "--exit-on-eof"]
        process = await asyncio.create_subprocess_exec(
            *([*command, "--gated"] if gated else command),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=PROJECT,
            start_new_session=True,
        )
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), 30)
            if not line:
                raise RuntimeError("the blackhole did not start")
            blackhole = cls(str(orjson.loads(line)["url"]), process)
            try:
                yield blackhole
            finally:
                await blackhole.session.close()
        finally:
            if process.stdin is not None:
                process.stdin.close()  # --exit-on-eof: it stops
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()

    async def _call(self, method: str, what: str, **params: Any) -> dict[str, Any]:
        async with self.session.request(method, f"{self.url}/_bench/{what}", params=params) as r:
            answer: dict[str, Any] = await r.json()
            answer["http_status"] = r.status
            return answer

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "stats")

    async def held(self) -> int:
        return int((await self._call("GET", "held"))["held"])

    async def open(self) -> None:
        await self._call("POST", "open")

    async def wait(self, documents: int, timeout_s: float) -> dict[str, Any]:
        """The stats once ``documents`` have arrived; raises after ``timeout_s``."""
        answer = await self._call("GET", "wait", documents=documents, timeout=timeout_s)
        if answer["http_status"] != 200:
            raise TimeoutError(f"{answer['documents']} of {documents} documents in {timeout_s} s")
        return answer


# -- the daemon -------------------------------------------------------------------------------


@dataclass
class DaemonProcess:
    """``cwlpipe run`` (the shipped default config, connections from the environment)."""

    process: subprocess.Popen[bytes]
    metrics_port: int
    log: Path
    workers: int

    @classmethod
    def start(
        cls,
        *,
        bootstrap: str,
        store_url: str,
        topic: str,
        group: str,
        dead_letters: str,
        workers: int = 1,
        log_dir: Path | None = None,
    ) -> DaemonProcess:
        port = free_ports(workers)
        log_dir = log_dir or Path(tempfile.mkdtemp(prefix="cwlpipe-bench-"))
        log = log_dir / f"daemon-{group}.log"
        env = dict(os.environ)
        env.update(
            CWLPIPE_KAFKA_BOOTSTRAP=bootstrap,
            CWLPIPE_INPUT_TOPICS=topic,
            CWLPIPE_GROUP_ID=group,
            CWLPIPE_DLQ_TOPIC=dead_letters,
            CWLPIPE_OPENSEARCH_URL=store_url,
            CWLPIPE_METRICS_PORT=str(port),
        )
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "consumers.cli", "run", "--workers", str(workers)],
                env=env,
                cwd=PROJECT,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return cls(process, port, log, workers)

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def peak_rss_kib(self) -> int:
        return peak_rss_kib(self.pid)

    def check_running(self) -> None:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"cwlpipe run exited with {self.process.returncode}:\n{tail}")

    async def ready(self, session: aiohttp.ClientSession) -> bool:
        """Every worker's ``/readyz`` answers 200 (partitions assigned, the store answered)."""
        for index in range(self.workers):
            url = f"http://127.0.0.1:{self.metrics_port + index}/readyz"
            try:
                async with session.get(url) as response:
                    if response.status != 200:
                        return False
            except aiohttp.ClientError:
                return False
        return True

    def stop(self) -> int:
        return stop_process(self.process)


def daemon_version() -> str:
    """What ``cwlpipe --version`` says as the benchmarks start it (which core it runs)."""
    return subprocess.run(
        [sys.executable, "-m", "consumers.cli", "--version"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


async def until(check: Any, what: str, timeout_s: float, every_s: float = 0.02) -> float:
    """Poll ``check()`` (another process pushes nothing) until it is true; the time it became so.

    Only for what no server can be asked to wait for: the blackhole's ``wait`` is an
    awaited answer instead.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        if await check():
            return time.monotonic()
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(every_s)
