"""Events per second of decoding alone and of decoding plus deriving metrics.

Stages measured on the same payloads in one run and printed as ratios to
decoding alone: Lambda invocation metrics + EMF (every event looked at), then
four metric filters on top, then the Prometheus aggregation of what they
yield. Run with ``python bench/bench_metrics.py [--seconds S]``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bench_patterns import payloads, rate

from consumers.config.service import parse_config
from consumers.prometheus.export import DerivedMetricsExporter
from pipeline.derived_metrics import MetricsDeriver
from pipeline.payload import decode

FILTERS = """
metric_filters:
  - filterName: json-latency
    filterPattern: '{ $.latency > 0 }'
    metricTransformations: [{metricName: Latency, metricNamespace: B, metricValue: $.latency}]
  - filterName: status
    filterPattern: '[ip, id, user, ts, request, status = 5*, bytes]'
    metricTransformations: [{metricName: Bytes, metricNamespace: B, metricValue: $bytes,
                             dimensions: {Status: $status}}]
  - filterName: errors
    filterPattern: '?ERROR ?Exception'
    metricTransformations: [{metricName: Errors, metricNamespace: B, metricValue: "1",
                             defaultValue: 0}]
  - filterName: timeouts
    filterPattern: '%Task timed out after [0-9.]+ seconds%'
    metricTransformations: [{metricName: Timeouts, metricNamespace: B, metricValue: "1"}]
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    seconds = parser.parse_args().seconds
    data = payloads()
    batches_of = [decode(d) for d in data]
    events = sum(len(b.events) for batches in batches_of for b in batches)

    def decode_only() -> int:
        return sum(len(b.events) for d in data for b in decode(d))

    def derive_with(config_text: str, export: bool) -> Callable[[], int]:
        deriver = MetricsDeriver(parse_config(config_text).core)
        exporter = DerivedMetricsExporter()

        def work() -> int:
            count = 0
            for payload in data:
                for batch in decode(payload):
                    derived = deriver.derive(batch)
                    if export:
                        exporter.observe(derived)
                    count += len(batch.events)
            return count

        return work

    baseline = rate(decode_only, seconds)
    print(f"{len(data)} payloads, {events} events; decode alone: {baseline:,.0f} events/s")
    stages = {
        "lambda + EMF": derive_with("", export=False),
        "+ 4 metric filters": derive_with(FILTERS, export=False),
        "+ Prometheus aggregation": derive_with(FILTERS, export=True),
    }
    for label, work in stages.items():
        measured = rate(work, seconds)
        print(f"decode + {label:26} {measured:12,.0f} events/s  ratio {measured / baseline:.2f}")


if __name__ == "__main__":
    main()
