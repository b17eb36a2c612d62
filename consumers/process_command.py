"""``cwlpipe process FILE...``: replay exported payloads offline and write what they yield.

Each file is one delivery as it was exported (a Firehose-to-S3 object, a
saved subscription record, a Lambda ``awslogs`` event, plain JSON). Derived
metrics (Lambda invocation metrics, EMF, the config's metric filters) are
written as Prometheus exposition text with ``--metrics-out``. A file that
cannot be decoded is reported with its reason and the exit status is 1; the
other files are still processed.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from consumers.config_file import load_config
from consumers.metrics_export import DerivedMetricsExporter
from pipeline.config import PipelineConfig
from pipeline.derived_metrics import MetricsDeriver
from pipeline.errors import ConfigError, PayloadError
from pipeline.payload import decode

__all__ = ["exporter_for", "register", "run"]

EXIT_REFUSED = 1
EXIT_USAGE = 2


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
        "--metrics-out",
        metavar="F",
        help="write the derived metrics as Prometheus exposition text to F ('-': stdout)",
    )
    parser.set_defaults(handler=run)


def exporter_for(config: PipelineConfig) -> DerivedMetricsExporter:
    buckets = {
        (f.definition.metric_namespace, f.definition.metric_name): f.definition.histogram_buckets
        for f in config.metric_filters
        if f.definition.histogram_buckets
    }
    return DerivedMetricsExporter(config.metrics.max_label_sets, buckets)


@dataclass(slots=True)
class _Tally:
    files: int = 0
    refused: int = 0
    batches: int = 0
    control: int = 0
    events: int = 0
    samples: int = 0
    invocation_samples: int = 0
    emf_invalid: int = 0


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(f"cwlpipe process: bad config: {error}", file=sys.stderr)
        return EXIT_USAGE
    deriver = MetricsDeriver(config)
    exporter = exporter_for(config)
    tally = _Tally()
    for name in args.files:
        tally.files += 1
        try:
            batches = decode(Path(name).read_bytes())
        except OSError as error:
            tally.refused += 1
            print(f"{name}: cannot read: {error.strerror}", file=sys.stderr)
            continue
        except PayloadError as error:
            tally.refused += 1
            print(f"{name}: refused: {error}", file=sys.stderr)
            continue
        for batch in batches:
            tally.batches += 1
            if batch.is_control:
                tally.control += 1
                continue
            tally.events += len(batch.events)
            derived = deriver.derive(batch)
            exporter.observe_samples(derived.samples)
            exporter.observe_invocations(derived.invocations)
            exporter.count_invalid_emf(len(derived.emf_invalid))
            tally.samples += len(derived.samples)
            tally.invocation_samples += len(derived.invocations)
            tally.emf_invalid += len(derived.emf_invalid)
    if args.metrics_out:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(exporter)
        exposition = generate_latest(registry)
        if args.metrics_out == "-":
            sys.stdout.buffer.write(exposition)
        else:
            Path(args.metrics_out).write_bytes(exposition)
    print(
        f"cwlpipe process: {tally.files} files, {tally.refused} refused; {tally.batches} batches "
        f"({tally.control} control), {tally.events} events; {tally.samples} metric samples, "
        f"{tally.invocation_samples} Lambda samples, {tally.emf_invalid} invalid EMF documents",
        file=sys.stderr,
    )
    dropped = exporter.dropped()
    if dropped:
        print(f"cwlpipe process: label-set cap dropped samples: {dropped}", file=sys.stderr)
    return EXIT_REFUSED if tally.refused else 0
