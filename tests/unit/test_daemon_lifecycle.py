"""The daemon's lifecycle without servers: what it says, and what stops it from starting."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import replace

import aiohttp
import pytest

from consumers.config.connections import KafkaConfig, OpenSearchConfig
from consumers.config.service import MetricsConfig, ServiceConfig
from consumers.config.summary import mask_url
from consumers.devtools.local_servers import free_port
from consumers.runtime import daemon as daemon_module
from consumers.runtime.daemon import Daemon
from consumers.runtime.startup import StartupError


def config() -> ServiceConfig:
    """Nothing listens on port 1; the metrics port is free now (taken per test, not at import)."""
    return ServiceConfig(
        kafka=KafkaConfig(bootstrap_servers="127.0.0.1:1"),
        opensearch=OpenSearchConfig(url="http://user:secret@127.0.0.1:1"),
        metrics=MetricsConfig(port=free_port()),
    )


@pytest.fixture(autouse=True)
def cwlpipe_log_at_info() -> Iterator[None]:
    """Other tests may have quietened the logger; these read what it says."""
    logger = logging.getLogger("cwlpipe")
    level, disabled = logger.level, logger.disabled
    logger.setLevel(logging.INFO)
    logger.disabled = False
    yield
    logger.setLevel(level)
    logger.disabled = disabled


class Lines(logging.Handler):
    """Collects the cwlpipe log and wakes a waiter when a line containing ``wanted`` arrives."""

    def __init__(self, wanted: str) -> None:
        super().__init__()
        self.wanted = wanted
        self.lines: list[str] = []
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        if self.wanted in self.lines[-1]:
            self.seen.set()


async def test_a_progress_line_comes_every_period(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(daemon_module, "PROGRESS_EVERY_S", 0.01)
    lines = Lines("progress:")
    logger = logging.getLogger("cwlpipe")
    logger.addHandler(lines)
    daemon = Daemon(config())
    try:
        task = asyncio.create_task(daemon._progress())
        await asyncio.wait_for(lines.seen.wait(), 10)
        task.cancel()
    finally:
        logger.removeHandler(lines)
        await daemon.stop()
    (line,) = [line for line in lines.lines if line.startswith("progress:")][:1]
    assert "records" in line and "indexed" in line and "lag" in line


async def test_a_metrics_port_in_use_stops_start_up_with_one_line() -> None:
    first = Daemon(config())
    await first.server.start()
    taken = config()
    second = Daemon(replace(taken, metrics=replace(taken.metrics, port=first.server.port)))
    try:
        with pytest.raises(StartupError, match=r"cannot serve metrics on 127\.0\.0\.1:"):
            await second.start()
    finally:
        await second.stop()
        await first.stop()


async def test_start_up_waits_for_kafka_answering_healthz_and_a_stop_ends_the_wait() -> None:
    lines = Lines("not reachable")
    logger = logging.getLogger("cwlpipe")
    logger.addHandler(lines)
    daemon = Daemon(config())
    try:
        starting = asyncio.create_task(daemon.start())
        seen = asyncio.create_task(lines.seen.wait())
        await asyncio.wait({starting, seen}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        assert lines.seen.is_set(), starting.exception() if starting.done() else "no line"
        base = f"http://127.0.0.1:{daemon.server.port}"
        async with aiohttp.ClientSession() as session:  # alive while it waits, not ready
            async with session.get(f"{base}/healthz") as answer:
                assert answer.status == 200
            async with session.get(f"{base}/readyz") as answer:
                assert answer.status == 503
        daemon.request_stop()
        assert await asyncio.wait_for(starting, 10) is False
        assert not daemon.ready()
    finally:
        logger.removeHandler(lines)
        await daemon.stop()
    assert any("Kafka (127.0.0.1:1) not reachable" in line for line in lines.lines)


def test_the_banner_masks_the_store_password() -> None:
    assert mask_url("http://user:secret@host:9200") == "http://user:***@host:9200"
    assert mask_url("http://host:9200") == "http://host:9200"


async def test_ready_only_while_the_store_takes_documents() -> None:
    daemon = Daemon(config())
    try:
        daemon.store_ready = True
        daemon.source.assigned_once = True
        assert daemon.ready()
        daemon.loop.source_paused = True  # the store refuses: paused, not ready
        assert not daemon.ready()
    finally:
        await daemon.stop()


async def test_a_second_stop_request_makes_the_deadline_now() -> None:
    daemon = Daemon(config())
    try:
        daemon.request_stop()
        assert daemon.stop_signal.remaining() > 1
        daemon.request_stop()
        assert daemon.stop_signal.remaining() == 0
    finally:
        await daemon.stop()
