"""``cwlpipe serve``'s HTTP server: the Logs API at ``POST /``, Firehose at ``POST /firehose``,
and the query page's routes, on one aiohttp application and one origin.

Who may call it: with ``api.credentials`` every API request must carry a
valid SigV4 signature; without, the server refuses to listen anywhere but
loopback, and answers only requests addressed to a loopback host name, so a
web page on another site cannot reach it by DNS rebinding. No CORS header is
ever sent: the page is same-origin, and other origins stay out.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from opensearchpy import AsyncOpenSearch

from consumers.api.context import ApiContext
from consumers.api.firehose import FirehoseEndpoint
from consumers.api.protocol import handle_api
from consumers.api.queries import QueryRegistry
from consumers.api.sigv4 import require_botocore
from consumers.api.store import LogStore
from consumers.config.service import ServiceConfig
from consumers.insights.store import InsightsRun, run_on_store
from consumers.opensearch.sink import make_client
from consumers.runtime.errors import ShellError
from consumers.runtime.reach import is_loopback
from consumers.web.page import add_page_routes
from pipeline.insights import Query

__all__ = ["ApiServer", "ListenRefused", "is_loopback", "log_indices"]


class ListenRefused(ShellError):
    """Listening beyond loopback without credentials would open the logs to the network."""


def log_indices(config: ServiceConfig) -> str:
    """The day indices of every route, as ``cwlpipe insights`` reads them."""
    return ",".join(dict.fromkeys(route.index_pattern for route in config.router().all_routes))


class ApiServer:
    def __init__(
        self,
        config: ServiceConfig,
        host: str,
        port: int,
        *,
        client: AsyncOpenSearch | None = None,
    ) -> None:
        self.config = config
        self.host = host
        self.port = port
        self._own_client = client is None
        self.client = client if client is not None else make_client(config.opensearch)
        self._secrets = {key_id: secret.value for key_id, secret in config.api.credentials}
        self.queries = QueryRegistry(
            self._run_query,
            timeout_s=config.api.query_timeout_s,
            max_running=config.api.max_running_queries,
            max_pending=config.api.max_pending_queries,
        )
        self.context = ApiContext(LogStore(self.client, log_indices(config)), config, self.queries)
        self.firehose = FirehoseEndpoint(config, key_required=not is_loopback(host))
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def application(self) -> web.Application:
        app = web.Application(middlewares=[self._loopback_only])
        app.router.add_post("/", self._api)
        app.router.add_post("/firehose", self.firehose.handle)
        add_page_routes(app)
        return app

    async def start(self) -> int:
        """Listen; returns the port (useful with port 0). Raises :class:`ListenRefused`, or
        OSError when the address is taken."""
        for key_id, variable in self.config.api.unset_credentials:
            raise ShellError(
                f"api.credentials.{key_id}: the environment variable {variable} is not set"
            )
        if not self._secrets and not is_loopback(self.host):
            raise ListenRefused(
                f"refusing to listen on {self.host}: without api.credentials only loopback "
                "(127.0.0.1, ::1, localhost) is allowed"
            )
        if self._secrets:
            require_botocore()
        self._runner = web.AppRunner(self.application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._runner.cleanup()
            self._runner = None
            raise
        self.port = int(self._runner.addresses[0][1])  # the port chosen for port 0
        return self.port

    async def stop(self) -> None:
        await self.queries.close()
        await self.firehose.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_client:
            await self.client.close()

    async def _api(self, request: web.Request) -> web.Response:
        return await handle_api(
            request,
            self.context,
            max_body=self.config.api.max_request_bytes,
            secret_for=self._secrets.get if self._secrets else None,
        )

    async def _run_query(
        self, query: Query, groups: Sequence[str], start_ms: int, end_ms: int
    ) -> InsightsRun:
        return await run_on_store(
            self.client,
            query,
            indices=self.context.store.indices,
            log_groups=groups,
            start_ms=start_ms,
            end_ms=end_ms,
            timeout_s=self.config.api.query_timeout_s,
            scan_cap=self.config.api.query_scan_cap,
            now_ms=int(time.time() * 1000),
        )

    @web.middleware
    async def _loopback_only(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if not self._secrets:
            host = (
                request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
            )
            if not is_loopback(host):
                return web.Response(
                    status=403, text="this server answers only requests addressed to loopback\n"
                )
        return await handler(request)
