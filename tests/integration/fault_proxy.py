"""An HTTP proxy in front of the real store that can be switched to failing, to take the store
"down" for a while without losing what it holds: answering an error status, not answering at
all (``hang``), slow (``delay_s``), or not listening (``go_away`` / ``come_back``).
"""

from __future__ import annotations

import asyncio

from aiohttp import ClientSession, web

from consumers.devtools.local_servers import free_port


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.failing_status: int | None = None  # e.g. 503 or 429 while "down"
        self.hang = False  # accept bulk requests and never answer them
        self.hang_search = False  # accept searches (POST /_search) and never answer them
        self.delay_s = 0.0  # answer bulk requests this much later
        self.bulk_requests = 0
        self.refused = 0
        self.forwarded = 0
        self.port = free_port()
        self._runner: web.AppRunner | None = None
        self._session: ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._session = ClientSession(auto_decompress=False)
        await self.come_back()

    async def come_back(self) -> None:
        """Listen (again) on the same port."""
        app = web.Application(client_max_size=256 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def go_away(self) -> None:
        """Stop listening: connections are refused until ``come_back``."""
        if self._runner:
            await self._runner.cleanup()
            self._runner = None

    async def stop(self) -> None:
        self.hang = False
        await self.go_away()
        if self._session:
            await self._session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        while self.hang_search and request.path == "/_search":
            await asyncio.sleep(0.05)
        if request.path == "/_bulk":
            self.bulk_requests += 1
            while self.hang:
                await asyncio.sleep(0.05)
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
        if self.failing_status is not None and request.path == "/_bulk":
            self.refused += 1
            return web.json_response(
                {
                    "error": {"type": "fault_proxy", "reason": "store down"},
                    "status": self.failing_status,
                },
                status=self.failing_status,
            )
        assert self._session is not None
        self.forwarded += 1
        # aiohttp hands us the body already inflated: forward it as plain bytes
        dropped = ("host", "content-length", "content-encoding")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
        async with self._session.request(
            request.method,
            self.upstream + request.path_qs,
            data=await request.read(),
            headers=headers,
        ) as answer:
            body = await answer.read()
            keep = {
                k: v
                for k, v in answer.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            }
            return web.Response(status=answer.status, body=body, headers=keep)
