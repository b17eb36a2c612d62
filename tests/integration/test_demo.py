"""``cwlpipe demo`` (the README's main-job command) works with nothing but the package."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from consumers.devtools.sample_data import sample_payloads
from tests.integration.api_helpers import logs_client

pytestmark = pytest.mark.integration


def test_demo_indexes_the_samples_and_reports_dead_letters(kafka_bootstrap: str) -> None:
    # kafka_bootstrap only makes the suite skip (or fail in CI) where tansu is missing
    done = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    bad = sum(1 for p in sample_payloads(0) if not p.good)
    assert f"({len(sample_payloads(0)) - bad} good, {bad} bad)" in out
    assert "the daemon committed everything" in out
    assert out.count("[decode]") == bad
    index_lines = [line for line in out.splitlines() if line.strip().startswith("cwl-20")]
    assert index_lines and all(int(line.split()[1]) > 0 for line in index_lines)
    assert "cwlpipe_lambda_invocations_total" in out


def test_ctrl_c_on_a_running_demo_stops_everything_and_exits_0(kafka_bootstrap: str) -> None:
    """SIGINT to the whole process group, as a terminal sends it: no traceback, servers down."""
    demo = subprocess.Popen(
        [sys.executable, "-m", "consumers.cli", "demo", "--keep-running"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:
            seen.append(line)
            if line.startswith("running; Ctrl-C to stop"):
                break
        else:
            raise AssertionError("the demo never got to running:\n" + "".join(seen))
        api = next(line.split()[2] for line in seen if line.startswith("Logs API:"))
        groups = logs_client(api).describe_log_groups()["logGroups"]
        assert "/aws/lambda/checkout" in [g["logGroupName"] for g in groups]
        os.killpg(demo.pid, signal.SIGINT)
        out, err = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            os.killpg(demo.pid, signal.SIGKILL)
    text = "".join(seen) + out
    assert demo.returncode == 0, text + err
    assert "Traceback" not in err and "Unclosed" not in err, err
    assert "stopped the daemon; stopping the broker and the store" in out
    broker = next(line.split()[-1] for line in seen if line.startswith("Kafka broker:"))
    store = next(line.split()[-1] for line in seen if line.startswith("OpenSearch:"))
    for host, port in (
        broker.rsplit(":", 1),
        store.removeprefix("http://").rsplit(":", 1),
        api.removeprefix("http://").rsplit(":", 1),
    ):
        with pytest.raises(OSError):
            socket.create_connection((host, int(port)), timeout=2).close()
