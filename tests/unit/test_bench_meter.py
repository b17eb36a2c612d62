"""The core meter ``bench daemon`` runs beside the daemon, and the window its rates cover (no
timing is asserted: only that the counts move and the arithmetic is right)."""

from __future__ import annotations

import os
import time

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
