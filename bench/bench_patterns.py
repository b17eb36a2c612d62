"""Events per second of decoding alone and of decoding plus each filter-pattern kind.

Printed as ratios to decoding alone, measured in one run, because these
machines are noisy: the absolute numbers move, the ratios hold. Run with
``python bench/bench_patterns.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

from consumers.devtools.sample_data import sample_payloads
from pipeline.patterns import ParsedMessage, compile_pattern
from pipeline.payload import PayloadError, decode

PATTERNS = {
    "terms": '?ERROR ?"Task timed out" -DEBUG',
    "regex": "%Duration: [0-9]+\\.[0-9]+ ms%",
    "json": '{ $.level = "ERROR" || $.ms > 500 }',
    "delimited": "[host, ident, authuser, date, request, status = 5*, bytes]",
}


def payloads() -> list[bytes]:
    """Good sample deliveries: the team's shared samples where present, else generated ones."""
    shared = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
    found = []
    if shared.is_dir():
        found = [p.read_bytes() for p in sorted(shared.iterdir()) if p.suffix in (".gz", ".json")]
    found += [p.data for p in sample_payloads(int(time.time() * 1000)) if p.good]
    usable = []
    for data in found:
        try:
            decode(data)
        except PayloadError:
            continue
        usable.append(data)
    return usable


def rate(work: Callable[[], int], seconds: float) -> float:
    """Events per second of ``work`` (which returns how many events it handled)."""
    events = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        events += work()
    return events / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    seconds = parser.parse_args().seconds
    data = payloads()

    def decode_only() -> int:
        return sum(len(b.events) for d in data for b in decode(d))

    def decode_and(match: Callable[[str], object]) -> Callable[[], int]:
        def work() -> int:
            count = 0
            for payload in data:
                for batch in decode(payload):
                    for event in batch.events:
                        match(event.message)
                        count += 1
            return count

        return work

    baseline = rate(decode_only, seconds)
    print(f"{len(data)} payloads; decode alone: {baseline:,.0f} events/s (ratio 1.00)")
    compiled = {kind: compile_pattern(text) for kind, text in PATTERNS.items()}
    for kind, pattern in compiled.items():
        measured = rate(decode_and(pattern.match), seconds)
        print(f"decode + {kind:10} {measured:12,.0f} events/s  ratio {measured / baseline:.2f}")

    # A route with several metric filters over JSON logs: the message is parsed once, or per filter.
    json_filters = [
        compile_pattern(text)
        for text in (
            '{ $.level = "ERROR" }',
            "{ $.ms > 500 }",
            "{ $.requestId = * }",
            "{ $.x NOT EXISTS }",
        )
    ]

    def shared_view(message: str) -> None:
        view = ParsedMessage(message)
        for pattern in json_filters:
            pattern.match(view)

    def separate(message: str) -> None:
        for pattern in json_filters:
            pattern.match(message)

    once = rate(decode_and(shared_view), seconds)
    each = rate(decode_and(separate), seconds)
    print(f"decode + 4 JSON filters, message parsed once : ratio {once / baseline:.2f}")
    print(f"decode + 4 JSON filters, parsed per filter   : ratio {each / baseline:.2f}")
    print(f"parse-once speed-up: {once / each:.2f}x")


if __name__ == "__main__":
    main()
