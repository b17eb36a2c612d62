"""The core's rate measured beside the daemon, on the same CPU, over the same seconds.

The machines these benchmarks run on are virtual, and a virtual CPU's speed
moves by up to 1.9x within seconds (another tenant on its host core), each
vCPU on its own schedule: two CPU-bound loops, one per vCPU, measured 7.5 and
14.5 million additions per 0.25 s at the same moment, then swapped. A core
measure taken before or after the daemon's, or on the other vCPU, can fall in
another speed than the daemon's run: one round's ``ceiling_ratio`` then moved
between 0.44 and 0.80 with nothing changed.

So :class:`CoreMeter` runs ``bench core``'s whole-core work without pause in
a process of its own while the daemon drains, and ``bench daemon`` pins it
and the daemon's processing thread to the two vCPUs, swapping them ten times
a second: over a window of seconds each spends half of it on each vCPU, at
the same moments, each with a CPU to itself. The rest (the daemon's event
loop, the servers) floats and interrupts either alike, and the event loop
keeps running beside the processing thread as it does in an unpinned daemon
(with the whole daemon pinned to one CPU, its two threads took turns there).
The meter's events and CPU time are read at the two ends of the daemon's
window: the same seconds, the same CPUs, CPU time on both sides.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

__all__ = ["CoreMeter", "Reading", "busiest_thread", "pin", "pin_thread"]


@dataclass(frozen=True, slots=True)
class Reading:
    """The meter's events and CPU seconds so far."""

    events: int
    cpu_s: float

    def rate_since(self, earlier: Reading) -> float:
        """Events per CPU-second between two readings."""
        return (self.events - earlier.events) / max(self.cpu_s - earlier.cpu_s, 1e-9)


def pin(pid: int, cpus: set[int]) -> None:
    """Pin every thread ``pid`` has now; threads it starts later inherit their creator's set."""
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):  # a thread that just ended
                os.sched_setaffinity(int(task), cpus)


def pin_thread(tid: int, cpus: set[int]) -> None:
    """Pin one thread (a task id of ``/proc/PID/task``)."""
    with contextlib.suppress(OSError):  # it ended meanwhile
        os.sched_setaffinity(tid, cpus)


def busiest_thread(pid: int) -> int | None:
    """The thread of ``pid`` other than its main one that has spent the most CPU: the
    daemon's processing thread (libuv's and the metrics server's threads barely run)."""
    best: tuple[int, int] | None = None
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            if int(task) == pid:
                continue
            with contextlib.suppress(OSError, ValueError):
                text = Path(f"/proc/{pid}/task/{task}/stat").read_text()
                fields = text[text.rindex(")") + 2 :].split()
                ticks = int(fields[11]) + int(fields[12])  # utime, stime
                if best is None or ticks > best[0]:
                    best = (ticks, int(task))
    return None if best is None else best[1]


def _run(
    deliveries: list[bytes],
    events: Synchronized[int],
    cpu_us: Synchronized[int],
    running: Synchronized[int],
) -> None:
    # imported here: the spawned process imports only what the work needs
    from bench.core import core_one
    from consumers.config import DEFAULT_CONFIG, load_config
    from consumers.runtime.gc_tuning import tune_for_batches
    from pipeline.process import Processor

    processor = Processor(load_config(DEFAULT_CONFIG, env={}).core)
    tune_for_batches()  # the collector as the daemon sets it, as bench core measures
    began = time.process_time()
    running.value = 1
    for value in itertools.cycle(deliveries):
        if not running.value:
            return
        handled = core_one(processor, value)
        # CPU first, then events: a reading between the two stores is short one record
        cpu_us.value = round((time.process_time() - began) * 1e6)
        events.value += handled


class CoreMeter:
    """``bench core``'s work, running until stopped; read it with :meth:`reading`."""

    def __init__(self, deliveries: list[bytes]) -> None:
        context = multiprocessing.get_context("spawn")  # the caller has threads: no fork
        self._events = context.Value("q", 0, lock=False)
        self._cpu_us = context.Value("q", 0, lock=False)
        self._running = context.Value("b", 0, lock=False)
        self._process = context.Process(
            target=_run,
            args=(deliveries, self._events, self._cpu_us, self._running),
            daemon=True,
        )

    @classmethod
    @contextlib.contextmanager
    def running(cls, deliveries: list[bytes]) -> Iterator[CoreMeter]:
        meter = cls(deliveries)
        meter._process.start()
        try:
            deadline = time.monotonic() + 60
            while not meter._running.value:  # a process start-up: nothing to await but it
                if not meter._process.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the core meter did not start")
                time.sleep(0.01)
            yield meter
        finally:
            meter._running.value = 0
            meter._process.join(30)
            if meter._process.is_alive():
                meter._process.kill()
                meter._process.join()

    @property
    def pid(self) -> int:
        pid = self._process.pid
        assert pid is not None  # started by running()
        return pid

    def reading(self) -> Reading:
        return Reading(int(self._events.value), self._cpu_us.value / 1e6)
