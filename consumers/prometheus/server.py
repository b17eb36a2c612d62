"""The HTTP endpoints: ``/metrics`` for Prometheus, ``/healthz`` and ``/readyz`` for orchestrators.

``/metrics`` is prometheus-client's own aiohttp handler over the daemon's
registry. ``/healthz`` answers from the first second (also while Kafka or
OpenSearch are being waited for); ``/readyz`` only once the daemon consumes.
A client that opens a connection and does not send its request within
``header_timeout_s`` is dropped, so half-open connections cannot exhaust the
process's file descriptors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from prometheus_client import CollectorRegistry
from prometheus_client.aiohttp import make_aiohttp_handler

__all__ = ["MetricsServer"]

DEFAULT_HEADER_TIMEOUT_S = 5.0


class MetricsServer:
    def __init__(
        self,
        registry: CollectorRegistry,
        address: str,
        port: int,
        ready: Callable[[], bool],
        *,
        header_timeout_s: float = DEFAULT_HEADER_TIMEOUT_S,
    ) -> None:
        self.registry = registry
        self.address = address
        self.port = port
        self.header_timeout_s = header_timeout_s
        self._ready = ready
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        # ids of connections that sent a request; the pending timer keeps each protocol alive,
        # so an id cannot be reused before its check
        self._answered: set[int] = set()

    @property
    def url(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"http://{host}:{self.port}/metrics"

    async def start(self) -> int:
        """Start serving; returns the port (useful with port 0). Raises OSError when taken."""
        app = web.Application(middlewares=[self._mark_answered])
        app.router.add_get("/metrics", make_aiohttp_handler(self.registry))
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        handler_factory = self._runner.server
        assert handler_factory is not None
        loop = asyncio.get_running_loop()

        def connection() -> RequestHandler:
            protocol = handler_factory()
            loop.call_later(self.header_timeout_s, self._drop_if_silent, protocol)
            return protocol

        try:
            self._server = await loop.create_server(connection, self.address, self.port)
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def _drop_if_silent(self, protocol: RequestHandler) -> None:
        if id(protocol) in self._answered:
            self._answered.discard(id(protocol))
        elif protocol.transport is not None:
            protocol.transport.close()

    @web.middleware
    async def _mark_answered(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        protocol = request.protocol
        if isinstance(protocol, RequestHandler):
            self._answered.add(id(protocol))
        return await handler(request)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._runner is not None:
            await self._runner.shutdown()
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._ready():
            return web.Response(text="ready\n")
        return web.Response(status=503, text="not ready\n")
