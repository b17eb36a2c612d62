"""``cwlpipe demo``: see the pipeline work with nothing installed but the package.

For now it runs the pure core over sample deliveries the project generates
(current timestamps, good and bad ones): decoding, control-message skipping,
refusals with their reasons, and filter patterns with their extracted fields.
The embedded broker and store join it with the ingestion daemon.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from consumers.sample_data import sample_payloads
from pipeline.patterns import ParsedMessage, compile_pattern
from pipeline.payload import PayloadError, decode

__all__ = ["register", "run"]

DEMO_PATTERNS = (
    "[host, ident, authuser, date, request, status = 5*, bytes]",
    '{ $.level = "ERROR" }',
    '?"Task timed out" ?"Runtime.OutOfMemory"',
    "%Init Duration: [0-9.]+ ms%",
)


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="run the pipeline over generated sample data", description=__doc__
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    now_ms = int(time.time() * 1000)
    patterns = [compile_pattern(text) for text in DEMO_PATTERNS]
    hits = [0] * len(patterns)
    first_extraction: dict[str, str] | None = None
    events = control = 0
    print("cwlpipe demo: decoding generated sample deliveries")
    for payload in sample_payloads(now_ms):
        try:
            batches = decode(payload.data)
        except PayloadError as exc:
            print(f"  refused   {payload.name:32} {exc}")
            continue
        data = [batch for batch in batches if not batch.is_control]
        control += len(batches) - len(data)
        count = sum(len(batch.events) for batch in data)
        events += count
        print(f"  decoded   {payload.name:32} {len(batches)} batch(es), {count} event(s)")
        for batch in data:
            for event in batch.events:
                message = ParsedMessage(event.message)  # parsed once for every pattern
                for index, pattern in enumerate(patterns):
                    match = pattern.match(message)
                    if match is not None:
                        hits[index] += 1
                        if index == 0 and first_extraction is None:
                            first_extraction = match.extracted_values
    print(f"{events} log events decoded, {control} control message(s) skipped")
    print("filter patterns:")
    for text, count in zip(DEMO_PATTERNS, hits, strict=True):
        print(f"  {count:4} match(es)  {text}")
    if first_extraction:
        print(f"first extraction of the space-delimited pattern: {first_extraction}")
    return 0
