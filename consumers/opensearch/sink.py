"""Bulk indexing into OpenSearch with per-item triage.

Each item of a ``_bulk`` answer is one of three things: acknowledged;
worth retrying (429, 5xx, or the whole request failed on a connection error,
a timeout or a 429/5xx); or refused for good (4xx such as a mapping error),
which goes to the dead letters with the store's reason. Retries back off
exponentially with full jitter. When the store stays saturated past
``max_retries``, :class:`StoreUnavailable` tells the caller to pause its
partitions and try again later: nothing is buffered without bound, nothing
is committed past it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError

from pipeline.connection_config import OpenSearchConfig
from pipeline.documents import IndexAction
from pipeline.errors import PipelineError
from pipeline.index_templates import TEMPLATE_VERSION, index_template, template_name

__all__ = [
    "BulkReport",
    "OpenSearchSink",
    "Rejection",
    "StoreUnavailable",
    "bulk_body",
    "make_client",
]


class StoreUnavailable(PipelineError):
    """The store kept refusing (429, 5xx, unreachable): pause, then retry the same actions."""

    retriable = True

    def __init__(self, reason: str, pending: list[IndexAction], acknowledged: int) -> None:
        super().__init__(reason)
        self.pending = pending
        self.acknowledged = acknowledged


@dataclass(frozen=True, slots=True)
class Rejection:
    action: IndexAction
    status: int
    reason: str


@dataclass(slots=True)
class BulkReport:
    indexed: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    retries: int = 0


def make_client(settings: OpenSearchConfig) -> AsyncOpenSearch:
    """An async client; retries are ours, so the transport's own are off."""
    if settings.url is None:
        raise ValueError("no OpenSearch URL configured")
    options: dict[str, Any] = {
        "hosts": [settings.url],
        "timeout": settings.timeout_s,
        "max_retries": 0,
        "retry_on_timeout": False,
        "http_compress": True,
        "verify_certs": settings.verify_certs,
    }
    if settings.ca_certs:
        options["ca_certs"] = settings.ca_certs
    if settings.username and settings.password:
        options["http_auth"] = (settings.username, settings.password.value)
    if settings.aws_region:
        options["http_auth"] = _sigv4(settings)
    return AsyncOpenSearch(**options)


def _sigv4(settings: OpenSearchConfig) -> Any:
    try:
        import boto3  # type: ignore[import-not-found]
        from opensearchpy import AWSV4SignerAsyncAuth
    except ImportError as error:  # the optional ``aws`` extra
        raise ValueError("SigV4 needs boto3: pip install 'cwl-pipeline[aws]'") from error
    credentials = boto3.Session().get_credentials()
    return AWSV4SignerAsyncAuth(credentials, settings.aws_region or "", settings.aws_service)


def bulk_body(actions: Sequence[IndexAction]) -> bytes:
    """NDJSON for ``_bulk``: an ``index`` line and the source line per action."""
    return b"".join(map(_encode, actions))


def _encode(action: IndexAction) -> bytes:
    meta = orjson.dumps({"index": {"_index": action.index, "_id": action.id}})
    return meta + b"\n" + orjson.dumps(action.source) + b"\n"


def _retriable(status: int) -> bool:
    return status == 429 or status >= 500


class OpenSearchSink:
    def __init__(
        self,
        client: AsyncOpenSearch,
        settings: OpenSearchConfig,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_throttle: Callable[[str], None] | None = None,
        on_bulk: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self._sleep = sleep
        self.on_throttle: Callable[[str], None] = on_throttle or (lambda reason: None)
        self.on_bulk: Callable[[float], None] = on_bulk or (lambda seconds: None)

    async def install_templates(self, index_prefixes: Sequence[str]) -> list[str]:
        """Install or upgrade each prefix's template; returns the names written."""
        written = []
        for prefix in dict.fromkeys(index_prefixes):
            name = template_name(prefix)
            body = index_template(prefix, self.settings.total_fields_limit)
            try:
                current = await self.client.indices.get_index_template(name=name)
                installed = current["index_templates"][0]["index_template"].get("version", 0)
            except NotFoundError:
                installed = -1
            if installed < TEMPLATE_VERSION:
                await self.client.indices.put_index_template(name=name, body=body)
                written.append(name)
        return written

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**attempt)]."""
        ceiling = min(self.settings.max_backoff_s, self.settings.initial_backoff_s * 2**attempt)
        return random.uniform(0, ceiling)

    async def write(self, actions: Sequence[IndexAction]) -> BulkReport:
        """Index every action or say why not; raises StoreUnavailable after max_retries."""
        report = BulkReport()
        pending = list(actions)
        attempt = 0
        while pending:
            retry: list[IndexAction] = []
            last_reason = ""
            for chunk, body in self._chunks(pending):
                reason = await self._send(chunk, body, report, retry)
                last_reason = reason or last_reason
            pending = retry
            if not pending:
                break
            if attempt >= self.settings.max_retries:
                raise StoreUnavailable(
                    f"store still refusing after {attempt} retries: {last_reason}",
                    pending,
                    report.indexed,
                )
            await self._sleep(self.backoff(attempt))
            attempt += 1
            report.retries += 1
        return report

    def _chunks(self, actions: list[IndexAction]) -> list[tuple[list[IndexAction], bytes]]:
        """Actions grouped under the size limits, each group with its body (encoded once)."""
        chunks: list[tuple[list[IndexAction], bytes]] = []
        current: list[IndexAction] = []
        parts: list[bytes] = []
        size = 0
        for action in actions:
            encoded = _encode(action)
            if current and (
                len(current) >= self.settings.bulk_max_actions
                or size + len(encoded) > self.settings.bulk_max_bytes
            ):
                chunks.append((current, b"".join(parts)))
                current, parts, size = [], [], 0
            current.append(action)
            parts.append(encoded)
            size += len(encoded)
        if current:
            chunks.append((current, b"".join(parts)))
        return chunks

    async def _send(
        self, chunk: list[IndexAction], body: bytes, report: BulkReport, retry: list[IndexAction]
    ) -> str | None:
        """Send one chunk; returns the reason when something is to be retried."""
        started = time.perf_counter()
        try:
            response = await self.client.bulk(body=body)
        except StoreConnectionError as error:  # includes timeouts
            self.on_throttle("connection")
            retry.extend(chunk)
            return f"connection error: {error}"
        except TransportError as error:
            status = error.status_code if isinstance(error.status_code, int) else 0
            if _retriable(status):
                self.on_throttle(str(status))
                retry.extend(chunk)
                return f"HTTP {status}: {error.error}"
            for action in chunk:  # the whole request is refused for good (413, 400 ...)
                report.rejected.append(Rejection(action, status, f"{error.error}: {error.info}"))
            return None
        finally:
            self.on_bulk(time.perf_counter() - started)
        reason = None
        for action, item in zip(chunk, response.get("items", []), strict=False):
            result = next(iter(item.values()))
            status = int(result.get("status", 0))
            if 200 <= status < 300:
                report.indexed += 1
            elif _retriable(status):
                self.on_throttle(str(status))
                retry.append(action)
                reason = f"HTTP {status}: {_reason(result)}"
            else:
                report.rejected.append(Rejection(action, status, _reason(result)))
        if len(response.get("items", [])) != len(chunk):  # never trust a short answer
            retry.extend(chunk[len(response.get("items", [])) :])
            reason = "the bulk answer had fewer items than the request"
        return reason


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return text
    return str(error or f"status {result.get('status')}")
