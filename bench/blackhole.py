"""A bulk endpoint that acknowledges instantly: the daemon's own ceiling, with no store behind it.

Like Vector's ``blackhole`` sink, it takes everything and keeps nothing but
counts. It answers what ``cwlpipe run`` asks a store at start-up (the root's
version info, index templates, ISM policies and their attachment, the
sweeper's ``_cat/indices``) and ``POST /_bulk`` with a success answer that
lists one item per action, as OpenSearch does, so the daemon's triage runs
as it would against a real cluster. Bodies may be gzipped
(``Content-Encoding: gzip``; members back to back are read too).

Control endpoints for the benchmark, under ``/_bench/``:

- ``GET /_bench/stats``: documents, bulk requests, body bytes (sent and
  decoded), requests to paths it does not know;
- ``GET /_bench/wait?documents=N&timeout=S``: answers once N documents have
  arrived (408 after S seconds), so a caller awaits the drain instead of
  polling;
- ``POST /_bench/open``: with ``--gated``, every store request waits until
  this is called (the daemons of a consumer group then start together);
  ``GET /_bench/held`` says how many wait.

``python -m bench.blackhole [--port P] [--gated] [--exit-on-eof]`` prints one
JSON line ``{"url": ...}`` once it listens and runs until SIGTERM/SIGINT (or,
with ``--exit-on-eof``, until its stdin closes: the parent went away).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web
from isal import igzip

__all__ = ["Blackhole", "Stats", "acknowledge", "main", "serve"]

VERSION_INFO = {
    "name": "blackhole",
    "cluster_name": "cwlpipe-bench",
    "cluster_uuid": "bench-blackhole",
    "version": {
        "distribution": "opensearch",
        "number": "2.19.0",
        "build_type": "bench",
        "lucene_version": "9.12.1",
        "minimum_wire_compatibility_version": "7.10.0",
        "minimum_index_compatibility_version": "7.0.0",
    },
    "tagline": "The OpenSearch Project: https://opensearch.org/",
}
# what each bulk operation answers when it succeeds
_RESULTS = {
    "index": (201, "created"),
    "create": (201, "created"),
    "update": (200, "updated"),
    "delete": (200, "deleted"),
}
# the rest of an item as OpenSearch writes it (one shard, no replica): the daemon parses all of it
_SHARDS = {"total": 2, "successful": 1, "failed": 0}
_INDEX_TAIL = b',"_version":1,"result":"created","_shards":{"total":2,"successful":1,"failed":0},'
_INDEX_TAIL += b'"_seq_no":0,"_primary_term":1,"status":201}}'


def acknowledge(body: bytes, filter_path: str | None = None) -> tuple[bytes, int]:
    """The ``_bulk`` answer for an NDJSON body (every action succeeded) and its item count.

    Only the action lines are read; the source line after ``index``,
    ``create`` and ``update`` is skipped unread. An ``index`` line with an
    ``_id`` (what the daemon sends) is answered by splicing bytes; anything
    else is parsed. ``filter_path`` keeps what OpenSearch's would keep of
    top-level names and ``items.*.FIELD`` (other shapes: the whole answer).
    """
    kept = _kept(filter_path)
    fields = None if kept is None else kept[1]
    status_only = fields is not None and fields <= {"status", "error"}
    items: list[bytes] = []
    position, end = 0, len(body)
    while position < end:
        stop = body.find(b"\n", position)
        if stop < 0:
            stop = end
        line = body[position:stop].strip()
        position = stop + 1
        if not line:
            continue
        if line.startswith(b'{"index":{') and line.endswith(b"}}") and b'"_id":' in line:
            if fields is None:
                items.append(line[:-2] + _INDEX_TAIL)  # the line's own index and id, then ours
            elif status_only:
                items.append(b'{"index":{"status":201}}' if "status" in fields else b'{"index":{}}')
            else:
                items.append(_item(line, len(items), fields)[1])
        else:
            operation, item = _item(line, len(items), fields)
            items.append(item)
            if operation == "delete":
                continue
        stop = body.find(b"\n", position)  # the source line
        position = end if stop < 0 else stop + 1
    top = {"took", "errors", "items"} if kept is None else kept[0]
    parts = [part for name, part in _TOP if name in top or (name == "items" and fields)]
    if "items" in top or fields:
        parts[-1] += b"[" + b",".join(items) + b"]"
    return b"{" + b",".join(parts) + b"}", len(items)


_TOP = (("took", b'"took":0'), ("errors", b'"errors":false'), ("items", b'"items":'))


def _kept(filter_path: str | None) -> tuple[set[str], set[str] | None] | None:
    """Top-level names and item fields a ``filter_path`` keeps; None: everything."""
    if not filter_path:
        return None
    top: set[str] = set()
    fields: set[str] = set()
    for path in filter_path.split(","):
        parts = path.strip().split(".")
        if len(parts) == 1 and parts[0] in ("took", "errors", "items"):
            top.add(parts[0])
        elif len(parts) == 3 and parts[:2] == ["items", "*"]:
            fields.add(parts[2])
        else:
            return None  # a shape this endpoint does not filter: the whole answer
    return top, (None if "items" in top else fields)


def _item(line: bytes, number: int, fields: set[str] | None = None) -> tuple[str, bytes]:
    action = orjson.loads(line)
    if not isinstance(action, dict) or len(action) != 1:
        raise ValueError(f"malformed action line {line[:80]!r}")
    ((operation, meta),) = action.items()
    if operation not in _RESULTS or not isinstance(meta, dict):
        raise ValueError(f"unknown bulk action {operation!r}")
    status, result = _RESULTS[operation]
    item = {
        "_index": meta.get("_index", ""),
        "_id": meta.get("_id") or f"blackhole-{number}",
        "_version": 1,
        "result": result,
        "_shards": _SHARDS,
        "_seq_no": 0,
        "_primary_term": 1,
        "status": status,
    }
    if fields is not None:
        item = {name: value for name, value in item.items() if name in fields}
    return operation, orjson.dumps({operation: item})


@dataclass(slots=True)
class Stats:
    documents: int = 0
    bulk_requests: int = 0
    body_bytes: int = 0  # as received (gzipped when the client compresses)
    decoded_bytes: int = 0
    other_requests: int = 0
    unknown: list[str] = field(default_factory=list)  # method and path of what it does not know

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "bulk_requests": self.bulk_requests,
            "body_bytes": self.body_bytes,
            "decoded_bytes": self.decoded_bytes,
            "other_requests": self.other_requests,
            "unknown": self.unknown[:20],
        }


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


def _not_found(kind: str, reason: str) -> web.Response:
    error = {"type": kind, "reason": reason}
    return _json({"error": {"root_cause": [error], **error}, "status": 404}, 404)


class Blackhole:
    """The request handler and its counters; :meth:`start` serves it on a loopback port."""

    def __init__(self, *, gated: bool = False) -> None:
        self.stats = Stats()
        self.opened = asyncio.Event()
        if not gated:
            self.opened.set()
        self.held = 0
        self._stored: dict[str, Any] = {}  # templates and ISM policies put, by path
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []  # documents awaited
        self._held_waiters: list[tuple[int, asyncio.Future[None]]] = []

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> tuple[web.BaseRunner, str]:
        """Serve on ``host:port`` (0: any free port); returns the runner and the URL."""
        # the body is decoded here: gzip members back to back, and no streaming decoder
        runner = web.ServerRunner(web.Server(self.handle, auto_decompress=False), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0]
        return runner, f"http://{bound[0]}:{bound[1]}"

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        if path.startswith("/_bench/"):
            return await self._control(request, path[len("/_bench/") :])
        if not self.opened.is_set():
            self.held += 1
            self._held_waiters = _wake(self._held_waiters, self.held)
            try:
                await self.opened.wait()
            finally:
                self.held -= 1
        if path == "/_bulk" or path.endswith("/_bulk"):
            return await self._bulk(request)
        self.stats.other_requests += 1
        return await self._store_call(request, path)

    async def _bulk(self, request: web.BaseRequest) -> web.Response:
        raw = await request.content.read()  # whole, without request.read()'s 1 MiB cap
        body = raw
        if request.headers.get("Content-Encoding", "").lower() == "gzip":
            # ISA-L: 0.22 ms a 1,000-document body where gzip takes 0.55, on the two cores the
            # blackhole shares with the daemons it measures (members back to back too)
            body = igzip.decompress(raw)
        try:
            answer, count = acknowledge(body, request.query.get("filter_path"))
        except ValueError as error:  # orjson's decode error is one
            reason = {"type": "illegal_argument_exception", "reason": str(error)}
            return _json({"error": {"root_cause": [reason], **reason}, "status": 400}, 400)
        stats = self.stats
        stats.documents += count
        stats.bulk_requests += 1
        stats.body_bytes += len(raw)
        stats.decoded_bytes += len(body)
        if self._waiters:
            self._waiters = _wake(self._waiters, stats.documents)
        return web.Response(body=answer, content_type="application/json")

    async def wait_documents(self, count: int) -> None:
        """Until ``count`` documents have arrived."""
        if self.stats.documents < count:
            future = asyncio.get_running_loop().create_future()
            self._waiters.append((count, future))
            await future

    async def wait_held(self, count: int) -> None:
        """Until ``count`` store requests wait at the gate."""
        if self.held < count:
            future = asyncio.get_running_loop().create_future()
            self._held_waiters.append((count, future))
            await future

    async def _store_call(self, request: web.BaseRequest, path: str) -> web.Response:
        """Start-up and retention calls: remembered when put, found when got."""
        method = request.method
        if method == "HEAD":
            return web.Response(status=200)
        if path == "/" and method == "GET":
            return _json(VERSION_INFO)
        if path.startswith("/_index_template/"):
            name = path.rsplit("/", 1)[1]
            if method == "GET":
                if path not in self._stored:
                    return _not_found(
                        "resource_not_found_exception",
                        f"index template matching [{name}] not found",
                    )
                template = {"name": name, "index_template": self._stored[path]}
                return _json({"index_templates": [template]})
            if method == "PUT":
                self._stored[path] = orjson.loads(await request.content.read() or b"{}")
                return _json({"acknowledged": True})
        if path.startswith("/_plugins/_ism/policies/"):
            policy_id = path.rsplit("/", 1)[1]
            if method == "GET":
                if path not in self._stored:
                    return _not_found("status_exception", "Policy not found")
                return _json(self._policy(policy_id, self._stored[path]))
            if method == "PUT":
                self._stored[path] = orjson.loads(await request.content.read() or b"{}")
                return _json(self._policy(policy_id, self._stored[path]), 201)
        if path.startswith("/_plugins/_ism/add/") and method == "POST":
            return _json({"updated_indices": 0, "failures": False, "failed_indices": []})
        if path.startswith("/_cat/indices") and method == "GET":
            return _json([])
        self.stats.unknown.append(f"{method} {path}")
        return _json({"acknowledged": True})

    @staticmethod
    def _policy(policy_id: str, body: Any) -> dict[str, Any]:
        policy = body.get("policy", {}) if isinstance(body, dict) else {}
        return {
            "_id": policy_id,
            "_version": 1,
            "_seq_no": 0,
            "_primary_term": 1,
            "policy": policy,
        }

    async def _control(self, request: web.BaseRequest, what: str) -> web.Response:
        if what == "stats":
            return _json(self.stats.as_dict())
        if what == "held":
            return _json({"held": self.held, "open": self.opened.is_set()})
        if what == "open" and request.method == "POST":
            self.opened.set()
            return _json({"open": True})
        if what == "wait":
            wanted = int(request.query.get("documents", "0"))
            timeout = float(request.query.get("timeout", "600"))
            try:
                await asyncio.wait_for(self.wait_documents(wanted), timeout)
            except TimeoutError:
                return _json(self.stats.as_dict(), 408)
            return _json(self.stats.as_dict())
        return _json({"error": f"unknown control {what!r}"}, 404)


def _wake(
    waiters: list[tuple[int, asyncio.Future[None]]], reached: int
) -> list[tuple[int, asyncio.Future[None]]]:
    """Resolve the waiters whose count is reached; the ones still waiting."""
    waiting = []
    for count, future in waiters:
        if reached >= count:
            if not future.done():
                future.set_result(None)
        else:
            waiting.append((count, future))
    return waiting


async def serve(port: int, *, gated: bool, exit_on_eof: bool) -> None:
    blackhole = Blackhole(gated=gated)
    runner, url = await blackhole.start("127.0.0.1", port)
    sys.stdout.write(orjson.dumps({"url": url}).decode() + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher = None
    if exit_on_eof:
        watcher = asyncio.create_task(_until_eof(stop))
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await runner.cleanup()


async def _until_eof(stop: asyncio.Event) -> None:
    """Set ``stop`` when stdin closes (a thread reads it: stdin may be a pipe or a file)."""
    await asyncio.to_thread(sys.stdin.buffer.read)
    stop.set()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.blackhole", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="listen port (0: any free one)")
    parser.add_argument(
        "--gated", action="store_true", help="hold store requests until POST /_bench/open"
    )
    parser.add_argument("--exit-on-eof", action="store_true", help="stop when stdin closes")
    args = parser.parse_args(argv)
    runner: Callable[[Coroutine[Any, Any, None]], None] = asyncio.run
    with contextlib.suppress(ImportError):  # the daemon's loop where it has one
        import uvloop

        runner = uvloop.run
    runner(serve(args.port, gated=args.gated, exit_on_eof=args.exit_on_eof))
    return 0


if __name__ == "__main__":
    sys.exit(main())
