"""Every case of the Logs Insights suite, through the OpenSearch-compatible store as well as
through the reference evaluator: the store gives the same rows (tests/insights_store.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration


def test_the_whole_insights_suite_through_the_store(osmem_url: str) -> None:
    suite = sorted(str(p) for p in (PROJECT_ROOT / "tests" / "unit").glob("test_insights_*.py"))
    assert len(suite) >= 7
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *suite],
        cwd=PROJECT_ROOT,
        env={**os.environ, "CWLPIPE_INSIGHTS_STORE": osmem_url},
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout
