"""``cwlpipe process FILE...``: replay exported payloads offline.

Each file is one delivery as it was exported (a saved subscription record, a
Lambda ``awslogs`` event, plain JSON), or a Firehose-to-S3 object of gzip
members back to back, one delivery each. The documents go to OpenSearch when
the config names one, else to stdout as ``_bulk`` NDJSON (``--documents``
chooses); derived metrics (Lambda, EMF, metric filters) are written as
Prometheus exposition text with ``--metrics-out``. A file or a member that
cannot be decoded, or a document the store refuses, is reported with its
reason on stderr and the exit status is 1; the rest is still processed.
Progress goes to stderr for large inputs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from consumers.cli.common import load
from consumers.config.service import ServiceConfig
from consumers.config.summary import mask_url
from consumers.opensearch.sink import OpenSearchSink, encode_document, make_client
from consumers.prometheus.export import DerivedMetricsExporter, exporter_for
from consumers.runtime.errors import describe
from consumers.runtime.gc_tuning import tune_for_batches
from consumers.runtime.protocols import Document, Record
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError, until_up
from consumers.runtime.writes import write_all
from pipeline.documents import IndexAction
from pipeline.errors import PayloadError
from pipeline.payload import parts
from pipeline.process import Processor

__all__ = ["register", "run"]

#: a one-shot command waits a little for a store that is starting, not a whole outage
STORE_ATTEMPTS = 4

EXIT_REFUSED = 1
EXIT_USAGE = 2
PROGRESS_BYTES = 32 * 1024 * 1024  # report progress when the input is at least this large
PROGRESS_FILES = 20


DELIVERY_SLICE = 2_000  # documents encoded and sent together


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "process",
        help="process exported payload files offline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="payload files")
    parser.add_argument("--config", help="pipeline config (YAML); default: built-in defaults")
    parser.add_argument(
        "--documents",
        choices=("auto", "stdout", "opensearch", "none"),
        default="auto",
        help="where documents go; auto: OpenSearch when configured, else stdout",
    )
    parser.add_argument(
        "--metrics-out",
        metavar="F",
        help="write the derived metrics as Prometheus exposition text to F ('-': stdout)",
    )
    parser.set_defaults(handler=run)


@dataclass(slots=True)
class _Tally:
    files: int = 0
    refused: int = 0
    batches: int = 0
    control: int = 0
    events: int = 0
    filtered: int = 0
    documents: int = 0
    rejected: int = 0
    samples: int = 0
    invocation_samples: int = 0
    emf_invalid: int = 0


def run(args: argparse.Namespace) -> int:
    config = load("process", args.config)
    if config is None:
        return EXIT_USAGE
    target = args.documents
    if target == "auto":
        target = "opensearch" if config.opensearch.url else "stdout"
    if target == "opensearch" and not config.opensearch.url:
        print("cwlpipe process: --documents opensearch needs opensearch.url", file=sys.stderr)
        return EXIT_USAGE
    if target == "stdout" and args.metrics_out == "-":
        print(
            "cwlpipe process: documents and metrics cannot both go to stdout "
            "(add --documents none, or write the metrics to a file)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.metrics_out not in (None, "-") and not _writable(Path(args.metrics_out)):
        print(
            f"cwlpipe process: --metrics-out {args.metrics_out}: cannot write there",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return asyncio.run(_process(args, config, target))


async def _process(args: argparse.Namespace, config: ServiceConfig, target: str) -> int:
    processor = Processor(config.core)
    exporter = exporter_for(config)
    tally = _Tally()
    sink = None
    if target == "opensearch":
        sink = OpenSearchSink(make_client(config.opensearch), config.opensearch)
        prefixes = [r.index_prefix for r in config.router().all_routes]
        settings = config.opensearch
        try:
            await until_up(
                f"OpenSearch ({mask_url(settings.url or '')})",
                lambda: sink.install_templates(prefixes),
                policy=RetryPolicy(settings.initial_backoff_s, min(settings.max_backoff_s, 4.0)),
                stop=StopSignal(),
                attempts=min(settings.max_retries + 1, STORE_ATTEMPTS),
            )
        except StartupError as error:
            await sink.close()
            print(f"cwlpipe process: {error}", file=sys.stderr)
            return EXIT_REFUSED
    tune_for_batches()  # config compiled, store reached: a batch workload from here
    sizes = [_size(name) for name in args.files]
    progress = sum(sizes) >= PROGRESS_BYTES or len(args.files) >= PROGRESS_FILES
    try:
        for number, name in enumerate(args.files, start=1):
            tally.files += 1
            try:
                data = Path(name).read_bytes()
            except OSError as error:
                tally.refused += 1
                print(f"{name}: cannot read: {error.strerror}", file=sys.stderr)
                continue
            events, documents = await _process_file(
                data, name, processor, exporter, _Delivery(target, sink, tally, name)
            )
            if progress:
                print(
                    f"[{number}/{len(args.files)}] {name}: {events} events, {documents} documents",
                    file=sys.stderr,
                )
    finally:
        if sink is not None:
            await sink.close()
    if args.metrics_out:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(exporter)
        exposition = generate_latest(registry)
        if args.metrics_out == "-":
            sys.stdout.buffer.write(exposition)
        else:
            try:
                Path(args.metrics_out).write_bytes(exposition)
            except OSError as error:
                print(f"cwlpipe process: --metrics-out: {error.strerror}", file=sys.stderr)
                return EXIT_REFUSED
    print(
        f"cwlpipe process: {tally.files} file{'' if tally.files == 1 else 's'}, "
        f"{tally.refused} refused; {tally.batches} batches "
        f"({tally.control} control), {tally.events} events, {tally.filtered} filtered out, "
        f"{tally.documents} documents ({target}), {tally.rejected} rejected; "
        f"{tally.samples} metric samples, {tally.invocation_samples} Lambda samples, "
        f"{tally.emf_invalid} invalid EMF documents",
        file=sys.stderr,
    )
    dropped = exporter.dropped()
    if dropped:
        print(f"cwlpipe process: label-set cap dropped samples: {dropped}", file=sys.stderr)
    return EXIT_REFUSED if tally.refused or tally.rejected else 0


def _writable(path: Path) -> bool:
    """Checked before any work: a run must not fail at its very end (documents already sent)."""
    if path.exists():
        return path.is_file() and os.access(path, os.W_OK)
    parent = path.parent if str(path.parent) else Path(".")
    return parent.is_dir() and os.access(parent, os.W_OK)


def _size(name: str) -> int:
    try:
        return os.path.getsize(name)
    except OSError:
        return 0


def _count(tally: _Tally, outcome: Any, exporter: DerivedMetricsExporter) -> None:
    tally.batches += outcome.batches
    tally.control += outcome.control_batches
    tally.events += outcome.events
    tally.filtered += outcome.filtered_out
    derived = outcome.derived
    exporter.observe(derived)
    tally.samples += len(derived.samples)
    tally.invocation_samples += len(derived.invocations)
    tally.emf_invalid += len(derived.emf_invalid)


async def _process_file(
    data: bytes,
    name: str,
    processor: Processor,
    exporter: DerivedMetricsExporter,
    delivery: _Delivery,
) -> tuple[int, int]:
    """One part (a Firehose object's gzip member, or the whole file) at a time, its
    documents encoded and its outcome dropped before the next: decoding a 40,000-event
    object whole peaked at 149 MB (171 to stdout), holding every action and document at
    once (bench memory). Returns the events and documents of the file."""
    events = documents = 0
    pieces = parts(data, max_inflated_bytes=processor.max_inflated_bytes)
    try:
        for offset, part in pieces:
            outcome = processor.process(part)
            if outcome.dead_letter is not None:
                where = f"{name}: gzip member at byte {offset}" if offset else name
                delivery.tally.refused += 1
                print(f"{where}: refused: {outcome.dead_letter.reason}", file=sys.stderr)
                continue
            _count(delivery.tally, outcome, exporter)
            events += outcome.events
            documents += len(outcome.actions)
            await delivery.add(outcome.actions)
    except PayloadError as error:  # no later member can be found
        delivery.tally.refused += 1
        print(f"{name}: refused: {error}", file=sys.stderr)
    await delivery.flush()
    return events, documents


class _Delivery:
    """Documents sent in slices of ``DELIVERY_SLICE`` across a file's parts, so a store gets
    requests of the usual size from small members and a big member's encoded documents
    are never all held at once."""

    def __init__(self, target: str, sink: OpenSearchSink | None, tally: _Tally, name: str):
        self.target = target
        self.sink = sink
        self.tally = tally
        self.name = name
        self.origin = Record(name, 0, 0, b"")
        self.pending: list[Document] = []

    async def add(self, actions: list[IndexAction]) -> None:
        if self.target == "none":
            return
        for first in range(0, len(actions), DELIVERY_SLICE):
            self.pending += self._encode(actions[first : first + DELIVERY_SLICE])
            while len(self.pending) >= DELIVERY_SLICE:
                documents = self.pending[:DELIVERY_SLICE]
                del self.pending[:DELIVERY_SLICE]
                await _deliver_slice(documents, self.target, self.sink, self.tally, self.name)

    async def flush(self) -> None:
        documents, self.pending = self.pending, []
        if documents:
            await _deliver_slice(documents, self.target, self.sink, self.tally, self.name)

    def _encode(self, actions: list[IndexAction]) -> list[Document]:
        documents = []
        for action in actions:
            try:
                documents.append(encode_document(action, self.origin))
            except Exception as error:  # not JSON-encodable (a lone surrogate): this one only
                self.tally.rejected += 1
                print(
                    f"{self.name}: {action.index}/{action.id} refused: {describe(error)}",
                    file=sys.stderr,
                )
        return documents


async def _deliver_slice(
    documents: list[Document],
    target: str,
    sink: OpenSearchSink | None,
    tally: _Tally,
    name: str,
) -> None:
    if target == "stdout":
        write = sys.stdout.buffer.write
        for document in documents:
            write(document.body)
        tally.documents += len(documents)
        return
    assert sink is not None
    settings = sink.settings
    result = await write_all(
        sink,
        documents,
        policy=RetryPolicy(settings.initial_backoff_s, settings.max_backoff_s),
        stop=StopSignal(),
        max_attempts=settings.max_retries + 1,
    )
    tally.documents += result.acknowledged
    tally.rejected += len(result.refused) + len(result.retry)
    if result.retry:
        print(
            f"{name}: OpenSearch unavailable, {len(result.retry)} documents not indexed: "
            f"{result.retry_reason}",
            file=sys.stderr,
        )
    for document, status, reason in result.refused:
        print(
            f"{name}: {document.index}/{document.id} refused: HTTP {status} {reason}",
            file=sys.stderr,
        )
