"""``cwlpipe demo`` (the README's main-job command) works with nothing but the package."""

from __future__ import annotations

import subprocess
import sys

import pytest

from consumers.devtools.sample_data import sample_payloads

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
