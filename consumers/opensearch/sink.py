"""Bulk indexing into OpenSearch: one attempt per ``write``, every document triaged.

Each document of a ``_bulk`` answer is acknowledged, to be retried (429, 5xx,
or the whole request failed on a connection error or a timeout) or refused
for good (4xx such as a mapping error), and then it becomes a dead letter
with the store's reason. A whole request refused for good is split in halves
until the culprit is alone, so one bad document never takes its neighbours
down with it; ids over OpenSearch's 512-byte limit are refused before they
are sent for the same reason. Retries and their timing belong to the loop
(:mod:`consumers.runtime.retry`).

The daemon's event loop also serves heartbeats and ``/metrics``, and every
microsecond it spends per document is one the processing thread cannot
overlap: so ``prepare`` does the per-document work of a write (the id check,
cutting requests) in the loop's worker thread, and a write of what it
returned only joins, compresses and sends each request. An answer without
errors acknowledges its whole request at once.
"""

from __future__ import annotations

import time
import zlib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import Any

import orjson
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import NotFoundError, TransportError
from opensearchpy.serializer import JSONSerializer

from consumers.config.connections import OpenSearchConfig
from consumers.opensearch.templates import TEMPLATE_VERSION, index_template, template_name
from consumers.runtime.errors import describe
from consumers.runtime.protocols import Document, Record, Refusal, WriteResult
from pipeline.documents import IndexAction, encode_action

_isal_compress: Callable[..., bytes] | None
try:
    from isal.isal_zlib import compress as _isal_compress
except ImportError:  # no ISA-L wheel for this platform: zlib compresses alike, at ~5x the CPU
    _isal_compress = None

__all__ = [
    "BULK_FILTER",
    "MAX_ID_BYTES",
    "Bulk",
    "OpenSearchSink",
    "OrjsonSerializer",
    "bulk_body",
    "compress_body",
    "encode_document",
    "make_client",
]

#: OpenSearch refuses the whole ``_bulk`` request when one ``_id`` is longer than this.
MAX_ID_BYTES = 512
#: no id of at most this many characters can be over MAX_ID_BYTES in UTF-8 (4 bytes at most
#: each), so only longer ones are encoded to be measured
_SAFE_ID_CHARS = MAX_ID_BYTES // 4


class OrjsonSerializer(JSONSerializer):
    """Answers decoded with orjson: the stdlib's ``json`` (opensearch-py's default) spends
    about 2.3 us per item of a whole ``_bulk`` answer as OpenSearch writes it, orjson 1.1.
    OpenSearch's numbers fit in 64 bits (``unsigned_long`` too), which orjson reads exactly.
    Requests are still encoded by the default (templates and policies, rarely)."""

    def loads(self, s: str) -> Any:
        try:
            return orjson.loads(s)
        except orjson.JSONDecodeError:  # the default raises the client's SerializationError
            return super().loads(s)


def make_client(settings: OpenSearchConfig) -> AsyncOpenSearch:
    """An async client; retries are ours, so the transport's own are off."""
    if settings.url is None:
        raise ValueError("no OpenSearch URL configured")
    options: dict[str, Any] = {
        "hosts": [settings.url],
        "timeout": settings.timeout_s,
        "max_retries": 0,
        "retry_on_timeout": False,
        "http_compress": False,  # the sink compresses, at the configured level
        "serializer": OrjsonSerializer(),
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
        import boto3
        from opensearchpy import AWSV4SignerAsyncAuth
    except ImportError as error:  # the optional ``aws`` extra
        raise ValueError("SigV4 needs boto3: pip install 'cwl-pipeline[aws]'") from error
    credentials = boto3.Session().get_credentials()
    return AWSV4SignerAsyncAuth(credentials, settings.aws_region or "", settings.aws_service)


def encode_document(action: IndexAction, origin: Record) -> Document:
    """The action's two NDJSON lines; raises on what cannot be JSON (a lone surrogate)."""
    return Document(action.index, action.id, encode_action(action), origin)


def bulk_body(actions: Sequence[IndexAction]) -> bytes:
    """NDJSON for ``_bulk``: an ``index`` line and the source line per action."""
    nowhere = Record("", 0, 0, b"")
    return b"".join(encode_document(action, nowhere).body for action in actions)


_NDJSON = {"content-type": "application/x-ndjson"}
#: all the triage reads of a ``_bulk`` answer; the rest of each item (index, id, version,
#: shards, sequence numbers) is most of the answer's bytes and of its parsing. ``errors``
#: false lets a whole request be acknowledged without looking at its items one by one.
BULK_FILTER = {"filter_path": "errors,items.*.status,items.*.error"}


class Bulk(list[Document]):
    """Documents with their writes worked out ahead by :meth:`OpenSearchSink.prepare`.

    A list of the documents, so whoever holds it can treat it as one; a write of
    this very object sends ``requests`` as they are, any other list (what is left
    to retry, or what survived a rebalance) is worked out again.
    """

    __slots__ = ("bodies", "oversized", "requests", "sendable")

    def __init__(self, documents: list[Document], max_actions: int, max_bytes: int) -> None:
        super().__init__(documents)
        self.oversized = [
            Refusal(d, 400, _oversized(size))
            for d in documents
            if len(d.id) > _SAFE_ID_CHARS and (size := len(d.id.encode())) > MAX_ID_BYTES
        ]
        # the list given, not self, when nothing is left out: self would be a reference cycle,
        # freed only by the cyclic collector
        self.sendable = (
            [d for d in documents if len(d.id.encode()) <= MAX_ID_BYTES]
            if self.oversized
            else documents
        )
        self.bodies = [d.body for d in self.sendable]
        self.requests = _cut(self.bodies, max_actions, max_bytes)


def _cut(bodies: list[bytes], max_actions: int, max_bytes: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each request, as :meth:`OpenSearchSink.chunks` cuts them, found by
    bisecting the running sizes rather than adding them up one by one in Python."""
    ends = list(accumulate(map(len, bodies)))
    requests: list[tuple[int, int]] = []
    start = 0
    while start < len(bodies):
        before = ends[start - 1] if start else 0
        end = bisect_right(ends, before + max_bytes, start, min(start + max_actions, len(bodies)))
        end = max(end, start + 1)  # a document over the byte limit goes alone
        requests.append((start, end))
        start = end
    return requests


def _oversized(size: int) -> str:
    return f"document id is {size} bytes, over OpenSearch's limit of {MAX_ID_BYTES}"


#: the levels ISA-L has; a level above goes to zlib
ISAL_MAX_LEVEL = 3


def compress_body(body: bytes, level: int) -> bytes:
    """A ``_bulk`` body gzipped at ``opensearch.compress_level``: levels 1-3 by ISA-L (igzip)
    where it is installed, 4-9 by zlib. On the daemon's bulk bodies ISA-L's level 1 takes a
    fifth of zlib's level 1 CPU and comes out smaller (bench core: ``gzip_*``), and it keeps
    the GIL (these calls are short), so the event loop does not wait to get it back from the
    processing thread after each body, as it does after zlib."""
    if _isal_compress is not None and level <= ISAL_MAX_LEVEL:
        return _isal_compress(body, level, wbits=31)
    return zlib.compress(body, level, wbits=31)


def _retriable(status: int) -> bool:
    return status == 429 or status >= 500


class OpenSearchSink:
    """The :class:`consumers.runtime.protocols.Sink` for OpenSearch's ``_bulk`` API."""

    def __init__(
        self,
        client: AsyncOpenSearch,
        settings: OpenSearchConfig,
        *,
        on_throttle: Callable[[str], None] | None = None,
        on_bulk: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
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

    async def close(self) -> None:
        await self.client.close()

    def prepare(self, documents: list[Document]) -> Bulk:
        """The CPU work of writing ``documents``, done ahead and off the event loop (pure: no
        I/O, safe in any thread); :meth:`write` given the result does not redo it."""
        return Bulk(documents, self.settings.bulk_max_actions, self.settings.bulk_max_bytes)

    async def write(self, documents: Sequence[Document]) -> WriteResult:
        """One attempt at every document; see the module docstring for the triage."""
        bulk = (
            documents
            if isinstance(documents, Bulk)
            else self.prepare(documents if isinstance(documents, list) else list(documents))
        )
        result = WriteResult()
        result.refused += bulk.oversized
        sendable, bodies = bulk.sendable, bulk.bodies
        for start, end in bulk.requests:
            await self._send(sendable[start:end], result, b"".join(bodies[start:end]))
        return result

    def chunks(self, documents: Sequence[Document]) -> list[list[Document]]:
        """Documents grouped under the action and byte limits of one request."""
        chunks: list[list[Document]] = []
        current: list[Document] = []
        size = 0
        for document in documents:
            if current and (
                len(current) >= self.settings.bulk_max_actions
                or size + len(document.body) > self.settings.bulk_max_bytes
            ):
                chunks.append(current)
                current, size = [], 0
            current.append(document)
            size += len(document.body)
        if current:
            chunks.append(current)
        return chunks

    async def _send(
        self, chunk: list[Document], result: WriteResult, body: bytes | None = None
    ) -> None:
        """``body``: the chunk's NDJSON when the caller joined it already."""
        started = time.perf_counter()
        try:
            if body is None:
                body = b"".join([d.body for d in chunk])
            headers = dict(_NDJSON)
            if self.settings.http_compress:
                body = compress_body(body, self.settings.compress_level)
                headers["content-encoding"] = "gzip"
            # the transport directly: client.bulk() appends a newline, which would corrupt gzip
            response = await self.client.transport.perform_request(
                "POST", "/_bulk", params=dict(BULK_FILTER), body=body, headers=headers
            )
        except StoreConnectionError as error:  # refused, reset, timed out
            self.on_throttle("connection")
            result.retry.extend(chunk)
            result.retry_reason = describe(error)
            return
        except TransportError as error:
            status = error.status_code if isinstance(error.status_code, int) else 0
            if _retriable(status):
                self.on_throttle(str(status))
                result.retry.extend(chunk)
                result.retry_reason = describe(error)
            elif len(chunk) > 1:  # one bad document refuses the whole request: find it
                middle = len(chunk) // 2
                await self._send(chunk[:middle], result)
                await self._send(chunk[middle:], result)
            else:
                result.refused.append(Refusal(chunk[0], status, f"{error.error}: {error.info}"))
            return
        finally:
            self.on_bulk(time.perf_counter() - started)
        self._triage(chunk, response, result)

    def _triage(self, chunk: list[Document], response: Any, result: WriteResult) -> None:
        if not isinstance(response, dict):
            response = {}
        items = response.get("items", [])
        if response.get("errors") is False and len(items) == len(chunk):  # every item 2xx
            result.acknowledged += len(chunk)
            return
        for document, item in zip(chunk, items, strict=False):
            answer = next(iter(item.values())) if isinstance(item, dict) and item else {}
            status = int(answer.get("status", 0))
            if 200 <= status < 300:
                result.acknowledged += 1
            elif _retriable(status) or status == 0:
                self.on_throttle(str(status))
                result.retry.append(document)
                result.retry_reason = f"HTTP {status}: {_reason(answer)}"
            else:
                result.refused.append(Refusal(document, status, _reason(answer)))
        if len(items) < len(chunk):  # never trust a short answer
            result.retry.extend(chunk[len(items) :])
            result.retry_reason = "the bulk answer had fewer items than the request"


def _reason(result: dict[str, Any]) -> str:
    error = result.get("error")
    if isinstance(error, dict):
        text = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict):
            text += f" (caused by {cause.get('type')}: {cause.get('reason')})"
        return text
    return str(error or f"status {result.get('status')}")
