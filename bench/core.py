"""``python -m bench core``: the whole core against the minimal path, CPU time, in one run.

The whole core is what the daemon does per record: ``Processor.process``
(decode, route, filter, platform lines, EMF, metric filters, documents) and
the bulk NDJSON of its documents, with the default config. The minimal path,
as issue 9 measured it, is the project's decoder (always run as pure Python,
so that compiling the core does not move the yardstick) and one NDJSON line
per event with orjson: what any Python forwarder must at least do. The bare
minimum has no project code at all: gunzip, one JSON parse, one line per
event, no checks of any kind. All run over the same deliveries, alternating
rounds so that a noisy machine slows them alike; the ratios are the figures.

``--payload FILE`` takes any payload the decoder reads (one delivery, or gzip
members back to back as Firehose writes them); without it a realistic mix is
generated: Lambda START/END/REPORT lines, JSON application logs, EMF lines
and API Gateway access logs with extracted fields, ~176-byte messages, 1,000
events per delivery.

``--blueprint INDEX_JS`` also runs the AWS console's LogsToElasticsearch function (the
user's own copy of its ``index.js``; nothing of it ships here) under ``bench/blueprint.js``
in Node, on the same deliveries as Lambda events, a round of it after each round of the two
paths: its decode and its transform to the bulk body, its POST stubbed out.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import gc
import gzip
import importlib.util
import random
import shutil
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import orjson

import pipeline
from consumers.config import DEFAULT_CONFIG, load_config
from consumers.opensearch.sink import compress_body, encode_document
from consumers.runtime.gc_tuning import tune_for_batches
from consumers.runtime.protocols import Record
from pipeline import payload as payload_module
from pipeline.payload import LogBatch, decode
from pipeline.process import Processor

__all__ = ["main", "mixed_deliveries"]

_ORIGIN = Record("bench", 0, 0, b"")
HARNESS = Path(__file__).resolve().with_name("blueprint.js")


def mixed_deliveries(events: int = 10_000, per_delivery: int = 1_000, seed: int = 0) -> list[bytes]:
    """Gzipped DATA_MESSAGE deliveries with the event mix the issue measured."""
    chance = random.Random(seed)
    start = 1_795_000_000_000
    deliveries = []
    for first in range(0, events, per_delivery):
        kind = (first // per_delivery) % 4
        batch = [_event(kind, first + i, start + first + i, chance) for i in range(per_delivery)]
        group, stream, extracted = _source(kind)
        document: dict[str, object] = {
            "messageType": "DATA_MESSAGE",
            "owner": "123456789012",
            "logGroup": group,
            "logStream": stream,
            "subscriptionFilters": ["bench"],
            "logEvents": [
                {"id": f"{36_000_000_000_000_000 + n}", "timestamp": ts, "message": m}
                | ({"extractedFields": _fields(m)} if extracted else {})
                for n, ts, m in batch
            ],
        }
        deliveries.append(gzip.compress(orjson.dumps(document), compresslevel=6))
    return deliveries


def _source(kind: int) -> tuple[str, str, bool]:
    if kind == 3:
        return "API-Gateway-Execution-Logs_abc/prod", "access", True
    return "/aws/lambda/orders", "2026/11/25/[$LATEST]0123456789abcdef0123456789abcdef", False


def _event(kind: int, n: int, ts: int, chance: random.Random) -> tuple[int, int, str]:
    request = f"{chance.getrandbits(64):016x}-{n:08d}-4c1e-9b7a-1f2e3d4c5b6a"[:36]
    if kind == 0:  # the platform's lines, one invocation in three lines
        step = n % 3
        if step == 0:
            message = f"START RequestId: {request} Version: $LATEST\n"
        elif step == 1:
            message = f"END RequestId: {request}\n"
        else:
            message = (
                f"REPORT RequestId: {request}\tDuration: {chance.uniform(1, 900):.2f} ms\t"
                f"Billed Duration: {chance.randint(1, 900)} ms\tMemory Size: 512 MB\t"
                f"Max Memory Used: {chance.randint(60, 500)} MB\t\n"
            )
    elif kind == 1:  # structured application logs
        message = orjson.dumps(
            {
                "level": chance.choice(["INFO", "INFO", "WARN", "ERROR"]),
                "msg": "order placed",
                "orderId": n,
                "latencyMs": chance.randint(1, 2000),
                "requestId": request,
            }
        ).decode()
    elif kind == 2:  # Embedded Metric Format
        message = orjson.dumps(
            {
                "_aws": {
                    "Timestamp": ts,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": "Shop",
                            "Dimensions": [["Service"]],
                            "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}],
                        }
                    ],
                },
                "Service": "orders",
                "Latency": chance.randint(1, 900),
            }
        ).decode()
    else:  # API Gateway access log, space delimited
        message = (
            f"10.0.{n % 250}.{n % 199} - - [25/Nov/2026:10:00:00 +0000] "
            f'"GET /orders/{n} HTTP/1.1" {chance.choice([200, 200, 404, 500])} '
            f"{chance.randint(100, 9000)} {request}"
        )
    return n, ts, message


def _fields(message: str) -> dict[str, str]:
    parts = message.split(" ")
    return {"ip": parts[0], "status": parts[-3], "bytes": parts[-2], "request_id": parts[-1]}


def _as_subscription_deliveries(deliveries: list[bytes]) -> list[bytes]:
    """The same events as one gzipped DATA_MESSAGE per batch, the only shape the minimal path
    reads (a ``--payload`` may be base64, Firehose's back-to-back members, ...)."""
    plain = []
    for value in deliveries:
        try:
            document = orjson.loads(zlib.decompress(value, wbits=31))
            if isinstance(document, dict) and isinstance(document.get("logEvents"), list):
                plain.append(value)
                continue
        except (zlib.error, orjson.JSONDecodeError):
            pass
        for batch in decode(value):
            events = [
                {"id": e.id, "timestamp": e.timestamp, "message": e.message} for e in batch.events
            ]
            plain.append(gzip.compress(orjson.dumps({"logEvents": events}), compresslevel=6))
    return plain


def core_one(processor: Processor, value: bytes) -> int:
    """The whole core on one record: what the daemon does per record, bulk NDJSON included;
    returns the events it handled."""
    outcome = processor.process(value)
    b"".join(encode_document(action, _ORIGIN).body for action in outcome.actions)
    return outcome.events


def core_work(processor: Processor, deliveries: list[bytes]) -> Callable[[], int]:
    """One pass of the whole core over ``deliveries``; returns the events it handled."""

    def work() -> int:
        return sum(core_one(processor, value) for value in deliveries)

    return work


def _pure_python_decoder() -> Callable[[bytes], list[LogBatch]]:
    """``pipeline.payload.decode`` loaded from its source file, even beside a compiled module."""
    source = Path(payload_module.__file__ or "").with_suffix("").with_suffix(".py")
    if not source.exists():  # pip keeps the sources beside the compiled modules; just in case
        return decode
    spec = importlib.util.spec_from_file_location("bench_pure_payload", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    spec.loader.exec_module(module)
    pure: Callable[[bytes], list[LogBatch]] = module.decode
    return pure


def _rate(work: Callable[[], int], seconds: float) -> tuple[int, float]:
    """Events handled and CPU seconds spent, running ``work`` at least ``seconds`` of CPU."""
    events, spent = 0, 0.0
    while spent < seconds:
        began = time.process_time()
        events += work()
        spent += time.process_time() - began
    return events, spent


def measure(
    deliveries: list[bytes],
    seconds: float,
    others: Mapping[str, Callable[[float], tuple[int, float]]] | None = None,
) -> dict[str, float]:
    """The core and the minimal path, rounds alternated; ``others`` (name: a round of
    ``seconds`` of CPU giving events and CPU seconds) take a round after each of theirs and
    add ``NAME_events_per_s``. All run under the daemon's collector settings, as the
    daemon and ``cwlpipe process`` run the core (``--gc`` measures what they bring)."""
    processor = Processor(load_config(DEFAULT_CONFIG).core)
    defaults = gc.get_threshold()
    tune_for_batches()

    whole_core = core_work(processor, deliveries)
    pure_decode = _pure_python_decoder()

    def minimal_path() -> int:
        # The yardstick: the project's decoder, always as pure Python (so compiling
        # the core does not move it), then one orjson NDJSON line per event.
        events = 0
        for value in deliveries:
            lines = []
            for batch in pure_decode(value):
                for event in batch.events:
                    lines.append(orjson.dumps({"@id": event.id, "@message": event.message}))
            events += len(lines)
            b"\n".join(lines)
        return events

    plain = _as_subscription_deliveries(deliveries)

    def bare_minimum() -> int:
        # No project code at all: gunzip, one JSON parse, one line per event, no checks.
        events = 0
        for value in plain:
            delivery = orjson.loads(zlib.decompress(value, wbits=31))
            lines = [
                orjson.dumps({"@id": event["id"], "@message": event["message"]})
                for event in delivery["logEvents"]
            ]
            events += len(lines)
            b"\n".join(lines)
        return events

    others = others or {}
    paths = (("core", whole_core), ("minimal", minimal_path), ("bare", bare_minimum))
    totals = {name: [0, 0.0] for name in ("core", "minimal", "bare", *others)}
    rounds = 5
    for _ in range(rounds):  # alternate, so machine noise falls on all alike
        for name, work in paths:
            events, spent = _rate(work, seconds / rounds)
            totals[name][0] += events
            totals[name][1] += spent
        for name, run in others.items():
            events, spent = run(seconds / rounds)
            totals[name][0] += events
            totals[name][1] += spent
    gc.unfreeze()
    gc.set_threshold(*defaults)
    bodies = [
        b"".join(encode_document(a, _ORIGIN).body for a in processor.process(v).actions)
        for v in deliveries
    ]
    gzip_cost = {}
    compressors: dict[str, Callable[[bytes], bytes]] = {
        "1": lambda body: compress_body(body, 1),  # as the sink sends them (ISA-L)
        "9": lambda body: compress_body(body, 9),
        "zlib_1": lambda body: zlib.compress(body, 1, wbits=31),
    }
    for name, compress in compressors.items():
        began = time.process_time()
        packed = [compress(body) for body in bodies]
        spent = time.process_time() - began
        gzip_cost[name] = (spent, sum(map(len, packed)) / sum(map(len, bodies)))
    core = totals["core"][0] / totals["core"][1]
    minimal = totals["minimal"][0] / totals["minimal"][1]
    bare = totals["bare"][0] / totals["bare"][1]
    rates = {f"{name}_events_per_s": round(totals[name][0] / totals[name][1]) for name in others}
    return {
        "events_per_s": round(core),
        "minimal_path_events_per_s": round(minimal),
        "ratio": round(core / minimal, 3),
        "bare_minimum_events_per_s": round(bare),
        "ratio_to_bare_minimum": round(core / bare, 3),
        "compiled": pipeline.compiled(),  # the core as mypyc built it (make bench-compiled)
        "events": sum(len(b.events) for v in deliveries for b in decode(v)),
        "deliveries": len(deliveries),
        "cpu_seconds_per_path": seconds,
        # the bulk bodies' compression (opensearch.compress_level, as the sink does it: ISA-L
        # for levels 1-3, zlib above): CPU relative to level 9, size; zlib's level 1 beside it
        "gzip_level_1_cpu_vs_9": round(gzip_cost["1"][0] / max(gzip_cost["9"][0], 1e-9), 3),
        "gzip_level_1_size": round(gzip_cost["1"][1], 3),
        "gzip_level_9_size": round(gzip_cost["9"][1], 3),
        "zlib_level_1_cpu_vs_9": round(gzip_cost["zlib_1"][0] / max(gzip_cost["9"][0], 1e-9), 3),
        "zlib_level_1_size": round(gzip_cost["zlib_1"][1], 3),
        **rates,
    }


class BlueprintError(Exception):
    """The blueprint cannot be run: no node, no such file, or the harness failed (its words)."""


class Blueprint:
    """The AWS console's function under ``bench/blueprint.js --serve``, a round at a time.

    The deliveries become the Lambda events the function is invoked with, one per line of a
    file in ``workdir``: a delivery that is one gzip member is sent as it is; any other form
    (gzip members back to back, base64, envelopes) is decoded, and each of its documents
    rebuilt and gzipped, since the function takes one gzip document per event.
    """

    def __init__(self, index_js: Path, deliveries: list[bytes], workdir: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise BlueprintError("--blueprint needs node (Node.js) on PATH, and there is none")
        if not index_js.is_file():
            raise BlueprintError(f"--blueprint {index_js}: no such file")
        events = workdir / "blueprint-events.ndjson"
        with events.open("wb") as out:
            for value in deliveries:
                for data in _gzip_documents(value):
                    event = {"awslogs": {"data": base64.b64encode(data).decode("ascii")}}
                    out.write(orjson.dumps(event) + b"\n")
        self._stderr = (workdir / "blueprint-stderr.txt").open("w+", encoding="utf-8")
        self._node = subprocess.Popen(
            [node, str(HARNESS), "--serve", str(index_js), str(events)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        try:
            ready = self._reply()
        except BlueprintError:
            self.close()
            raise
        # documents in the bulk bodies the function built in one pass over the deliveries
        self.events = int(ready["events"])

    def round(self, seconds: float) -> tuple[int, float]:
        stdin: IO[str] | None = self._node.stdin
        assert stdin is not None
        try:
            stdin.write(f"{seconds}\n")
            stdin.flush()
        except BrokenPipeError:
            pass  # the harness is gone; _reply says why
        reply = self._reply()
        return int(reply["events"]), float(reply["cpu_seconds"])

    def close(self) -> None:
        if self._node.stdin:
            with contextlib.suppress(BrokenPipeError):  # it exited first, input unread
                self._node.stdin.close()
        try:
            self._node.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._node.kill()
            self._node.wait()
        if self._node.stdout:
            self._node.stdout.close()
        self._stderr.close()

    def _reply(self) -> Any:
        assert self._node.stdout is not None
        line = self._node.stdout.readline()
        if not line:
            self._node.wait()
            self._stderr.seek(0)
            said = self._stderr.read().strip().splitlines()
            raise BlueprintError(said[-1] if said else f"node exited ({self._node.returncode})")
        return orjson.loads(line)


def _gzip_documents(value: bytes) -> list[bytes]:
    """The delivery as the gzip documents the function takes, one per Lambda event."""
    batches = decode(value)
    if value.startswith(b"\x1f\x8b") and len(batches) == 1:
        inflater = zlib.decompressobj(wbits=31)
        inflater.decompress(value)
        if inflater.eof and not inflater.unused_data:
            return [value]
    return [gzip.compress(orjson.dumps(_document(batch)), compresslevel=6) for batch in batches]


def _document(batch: LogBatch) -> dict[str, object]:
    document: dict[str, object] = {
        "messageType": batch.message_type,
        "owner": batch.owner,
        "logGroup": batch.log_group,
        "logStream": batch.log_stream,
        "subscriptionFilters": list(batch.subscription_filters),
    }
    if batch.policy_level is not None:
        document["policyLevel"] = batch.policy_level
    document["logEvents"] = [
        {"id": e.id, "timestamp": e.timestamp, "message": e.message}
        | ({"extractedFields": e.extracted_fields} if e.extracted_fields is not None else {})
        for e in batch.events
    ]
    return document


def gc_speedup(deliveries: list[bytes], seconds: float) -> float:
    """The whole core with the daemon's collector settings over CPython's defaults, rounds
    alternated (freezing is undone between them)."""
    processor = Processor(load_config(DEFAULT_CONFIG).core)
    defaults = gc.get_threshold()

    def whole_core() -> int:
        return sum(processor.process(value).events for value in deliveries)

    totals = {False: [0, 0.0], True: [0, 0.0]}
    for _ in range(5):
        for tuned in (False, True):
            if tuned:
                tune_for_batches()
            events, spent = _rate(whole_core, seconds / 5)
            totals[tuned][0] += events
            totals[tuned][1] += spent
            gc.unfreeze()
            gc.set_threshold(*defaults)
    return (totals[True][0] / totals[True][1]) / (totals[False][0] / totals[False][1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench core", description=__doc__)
    parser.add_argument("--payload", type=Path, help="a payload file (default: a generated mix)")
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds per path")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--gc",
        action="store_true",
        help="also measure with the daemon's collector settings (gc_speedup: tuned / default)",
    )
    parser.add_argument(
        "--blueprint",
        type=Path,
        metavar="INDEX_JS",
        help="also run the AWS console's LogsToElasticsearch function from this copy of its "
        "index.js (bench/README.md says where to get it): blueprint_events_per_s, "
        "core_vs_blueprint",
    )
    args = parser.parse_args(argv)
    deliveries = [args.payload.read_bytes()] if args.payload else mixed_deliveries()
    with tempfile.TemporaryDirectory(prefix="bench-blueprint-") as workdir:
        blueprint = None
        try:
            if args.blueprint is not None:
                blueprint = Blueprint(args.blueprint, deliveries, Path(workdir))
            others = {"blueprint": blueprint.round} if blueprint else None
            result = measure(deliveries, args.seconds, others)
        except BlueprintError as exc:
            print(f"bench core: {exc}", file=sys.stderr)
            return 1
        finally:
            if blueprint is not None:
                blueprint.close()
    if blueprint is not None:
        result["blueprint_events"] = blueprint.events
        result["core_vs_blueprint"] = round(
            result["events_per_s"] / result["blueprint_events_per_s"], 3
        )
        indexed = sum(len(b.events) for v in deliveries for b in decode(v) if not b.is_control)
        if blueprint.events != indexed:
            print(
                f"bench core: the blueprint indexed {blueprint.events:,} events a pass, "
                f"the deliveries hold {indexed:,} data events",
                file=sys.stderr,
            )
    if args.gc:
        result["gc_speedup"] = round(gc_speedup(deliveries, args.seconds), 3)
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        for key, value in result.items():
            shown = str(value) if isinstance(value, bool) else f"{value:,}"
            print(f"{key:28} {shown}")
        if blueprint is None:
            print(f"{'blueprint':28} not run (--blueprint INDEX_JS; see bench/README.md)")
    return 0
