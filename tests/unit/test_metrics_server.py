"""The endpoints: /healthz, /readyz and /metrics, and no room for clients that never ask."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client import CollectorRegistry, Counter

from consumers.config.service import MetricsConfig
from consumers.prometheus.server import MetricsServer


async def test_metrics_health_and_readiness_answer() -> None:
    registry = CollectorRegistry()
    Counter("cwlpipe_things", "things", registry=registry).inc(3)
    ready = False
    server = MetricsServer(registry, "127.0.0.1", 0, ready=lambda: ready)
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{server.port}"
            async with session.get(f"{base}/metrics") as response:
                assert "cwlpipe_things_total 3.0" in await response.text()
            async with session.get(f"{base}/healthz") as response:
                assert response.status == 200
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 503
            ready = True
            async with session.get(f"{base}/readyz") as response:
                assert response.status == 200
    finally:
        await server.stop()


async def test_a_client_that_sends_no_request_is_dropped() -> None:
    server = MetricsServer(
        CollectorRegistry(), "127.0.0.1", 0, ready=lambda: True, header_timeout_s=0.05
    )
    await server.start()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
    finally:
        await server.stop()


async def test_a_port_in_use_is_an_os_error_at_start() -> None:
    first = MetricsServer(CollectorRegistry(), "127.0.0.1", 0, ready=lambda: True)
    port = await first.start()
    second = MetricsServer(CollectorRegistry(), "127.0.0.1", port, ready=lambda: True)
    try:
        try:
            await second.start()
        except OSError:
            pass
        else:
            raise AssertionError("a second server bound a port in use")
    finally:
        await first.stop()


def test_the_metrics_endpoint_binds_loopback_unless_configured() -> None:
    assert MetricsConfig().address == "127.0.0.1"
