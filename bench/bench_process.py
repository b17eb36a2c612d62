"""Events per second of the whole core (``Processor.process``: decode, route, filter, documents,
metrics) and of serialising its bulk body, as ratios to decoding alone, in one run.

Run with ``python bench/bench_process.py [--seconds S]``; also peak memory of
one pass over the payloads, as a ratio to their decoded size.
"""

from __future__ import annotations

import argparse
import tracemalloc
from collections.abc import Callable

from bench_patterns import payloads, rate

from consumers.config.service import parse_config
from consumers.opensearch.sink import bulk_body
from pipeline.payload import decode
from pipeline.process import Processor

CONFIG = """
routes:
  - {name: lambda, log_groups: ["/aws/lambda/*"], filter_pattern: "-DEBUG", index_prefix: cwl,
     retention_days: 30}
default_route: {index_prefix: cwl, retention_days: 30}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    seconds = parser.parse_args().seconds
    data = payloads()
    processor = Processor(parse_config(CONFIG).core)

    def decode_only() -> int:
        return sum(len(b.events) for d in data for b in decode(d))

    def process(serialise: bool) -> Callable[[], int]:
        def work() -> int:
            events = 0
            for payload in data:
                outcome = processor.process(payload)
                events += outcome.events
                if serialise:
                    bulk_body(outcome.actions)
            return events

        return work

    baseline = rate(decode_only, seconds)
    print(f"{len(data)} payloads; decode alone: {baseline:,.0f} events/s")
    for label, work in (("Processor.process", process(False)), ("+ bulk NDJSON", process(True))):
        measured = rate(work, seconds)
        print(f"{label:20} {measured:12,.0f} events/s  ratio {measured / baseline:.2f}")

    decoded = sum(len(e.message) for d in data for b in decode(d) for e in b.events)
    tracemalloc.start()
    for payload in data:
        bulk_body(processor.process(payload).actions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak memory of one pass / decoded message bytes: {peak / decoded:.1f}")


if __name__ == "__main__":
    main()
