"""An opensearch-py connection that answers from a script and records every request.

For what no server here can do (ISM) or do on demand (per-item 429s): the
real client and transport run, only the socket is replaced.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from typing import Any, ClassVar

from opensearchpy import AsyncOpenSearch
from opensearchpy._async.http_aiohttp import AsyncConnection


class ScriptedConnection(AsyncConnection):
    """Each request pops the next step: ``(status, answer)`` or an exception to raise."""

    script: ClassVar[list[Any]] = []
    requests: ClassVar[list[tuple[str, str, dict[str, Any], bytes]]] = []
    compressed: ClassVar[int] = 0  # requests that came gzipped

    @classmethod
    def reset(cls, script: list[Any] | None = None) -> None:
        cls.script = list(script or [])
        cls.requests = []
        cls.compressed = 0

    @classmethod
    def client(cls) -> AsyncOpenSearch:
        # as consumers.opensearch.sink.make_client builds it: the transport never retries
        return AsyncOpenSearch(hosts=["http://scripted:9200"], connection_class=cls, max_retries=0)

    @classmethod
    def bodies(cls) -> list[bytes]:
        return [body for _, _, _, body in cls.requests]

    async def perform_request(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        timeout: float | None = None,
        ignore: Any = (),
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        if body and (headers or {}).get("content-encoding") == "gzip":
            body = gzip.decompress(body)  # as a server reads it
            type(self).compressed += 1
        self.requests.append((method, url, dict(params or {}), body or b""))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        status, answer = step
        raw = json.dumps(answer)
        if not 200 <= status < 300 and status not in ignore:
            self._raise_error(status, raw, "application/json")
        return status, {}, raw

    async def close(self) -> None:
        return None
