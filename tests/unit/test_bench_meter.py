"""The core meter ``bench daemon`` runs beside the daemon, and the window its rates cover (no
timing is asserted: only that the counts move and the arithmetic is right)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.core import mixed_deliveries
from bench.daemon import steady_window
from bench.meter import CoreMeter, Reading, pin


def test_a_rate_is_events_over_cpu_seconds_between_two_readings() -> None:
    assert Reading(3_000, 2.5).rate_since(Reading(1_000, 0.5)) == pytest.approx(1_000)
    assert Reading(10, 1.0).rate_since(Reading(10, 1.0)) == 0  # no division by zero


def test_the_window_leaves_out_start_up_and_the_last_tenth() -> None:
    assert steady_window(200_000) == (40_000, 180_000)
    assert steady_window(10) == (2, 9)


def test_the_meter_counts_the_core_s_events_and_cpu_while_it_runs() -> None:
    deliveries = mixed_deliveries(2_000)
    with CoreMeter.running(deliveries) as meter:
        first = meter.reading()
        deadline = time.monotonic() + 60
        # another process's counters: nothing to await but to read them again
        while (later := meter.reading()).events < first.events + 4_000:
            assert time.monotonic() < deadline, "the meter did not get through two passes"
            time.sleep(0.01)
        assert later.cpu_s > first.cpu_s
        assert later.events % 1_000 == 0  # whole deliveries of 1,000 events
        assert later.rate_since(first) > 0
        pid = meter.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # stopped and reaped on leaving


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="Linux CPU affinity")
def test_pinning_moves_every_thread_and_ignores_a_process_that_is_gone() -> None:
    cpus = os.sched_getaffinity(0)
    pin(os.getpid(), cpus)  # the set it has: a no-op that must not fail
    assert os.sched_getaffinity(0) == cpus
    pin(2**22 + 12_345, cpus)  # beyond pid_max's default: no such process, no error


# in a fresh process: threads that earlier tests left in this one may have spent more
BUSIEST = """
import os, threading, time
from bench.meter import busiest_thread
done, found = threading.Event(), []
def burn():
    began = time.thread_time()
    while time.thread_time() - began < 0.3:  # CPU, so the kernel's ticks count it
        pass
    found.append(busiest_thread(os.getpid()))
idle = threading.Thread(target=done.wait)  # a second thread that spends nothing
idle.start()
busy = threading.Thread(target=burn)
busy.start()
busy.join()
done.set()
idle.join()
print(found[0] == busy.native_id, busiest_thread(2**22 + 12_345))
"""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="threads are read from /proc")
def test_the_busiest_thread_is_the_one_that_spent_the_most_cpu() -> None:
    project = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", BUSIEST], cwd=project, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["True", "None"], result.stderr
