"""``python -m bench filters``: the whole core with 100 metric filters against none, CPU time.

Issue 9's target is that 100 metric filters keep at least half the speed of
none. The filters are what a real account accumulates: a few that match often
(ERROR counts, latency taken out of JSON logs, 4xx/5xx and bytes of access
logs, REPORT lines) and many that rarely or never match this mix (one family
per service); three publish a default value, which CloudWatch does for every
event they do not match. They watch every log group, so every event meets all
100, which is the case the issue measured. All paths run over the same
deliveries as ``python -m bench core`` (``bench.core.mixed_deliveries``),
rounds alternated, and the ratio of events per CPU second is the figure:
``ratio`` for the core as it is (the deriver hands each event to one
:class:`~pipeline.metric_filters.MetricFilterSet`), ``ratio_no_prefilter`` with
every filter called on every event. Before timing, the core's samples must be
exactly the plain evaluation's.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

import orjson

from bench.core import _rate, core_work, mixed_deliveries
from consumers.config import DEFAULT_CONFIG, load_config
from consumers.runtime.gc_tuning import tune_for_batches
from consumers.runtime.protocols import Record
from pipeline.derived_metrics import MetricsDeriver
from pipeline.metric_filters import MetricFilter, compile_metric_filter
from pipeline.payload import decode
from pipeline.process import Processor

__all__ = [
    "SERVICES",
    "check_identical",
    "compile_filters",
    "definitions",
    "main",
    "measure",
]

_ORIGIN = Record("bench", 0, 0, b"")
SERVICES = [
    "payments",
    "inventory",
    "shipping",
    "billing",
    "search",
    "catalog",
    "accounts",
    "auth",
    "notifications",
    "recommendations",
    "reviews",
    "pricing",
    "cart",
    "checkout-api",
    "fraud",
    "ledger",
]
_ACCESS = "[ip, identity, user, timestamp, request{request}, status{status}, bytes, request_id]"


def _filter(
    name: str,
    pattern: str,
    value: str = "1",
    *,
    default: float | None = None,
    dimensions: dict[str, str] | None = None,
) -> dict[str, Any]:
    transformation: dict[str, Any] = {
        "metricName": name,
        "metricNamespace": "Bench",
        "metricValue": value,
    }
    if default is not None:
        transformation["defaultValue"] = default
    if dimensions:
        transformation["dimensions"] = dimensions
    return {
        "filterName": name,
        "filterPattern": pattern,
        "metricTransformations": [transformation],
    }


def definitions() -> list[dict[str, Any]]:
    """The 100 metric filters, PutMetricFilter shape; the first dozen match this mix often."""
    found = [
        _filter("errors", "ERROR", default=0),
        _filter("json-errors", '{ $.level = "ERROR" }', dimensions={"Level": "$.level"}),
        _filter("slow-orders", "{ $.latencyMs > 1000 }", "$.latencyMs"),
        _filter("order-latency", "{ $.latencyMs = * }", "$.latencyMs"),
        _filter("warnings", '{ $.level = "WARN" || $.level = "ERROR" }'),
        _filter("http-5xx", _ACCESS.format(request="", status=" = 5*")),
        _filter("http-4xx", _ACCESS.format(request="", status=" = 4*")),
        _filter(
            "http-bytes",
            _ACCESS.format(request="", status=""),
            "$bytes",
            dimensions={"Status": "$status"},
        ),
        _filter("not-found", "[..., status = 404, bytes, request_id]"),
        _filter("reports", '"REPORT RequestId"'),
        _filter("emf-slow", '{ $.Service = "orders" && $.Latency > 500 }', "$.Latency"),
        _filter("orders-placed", '"order placed"', default=0),
        _filter("timeouts", "%Task timed out after [0-9.]+ seconds%"),
        _filter("cold-starts", '"Init Duration"'),
        _filter("out-of-memory", '?"Runtime.OutOfMemory" ?"JavaScript heap out of memory"'),
    ]
    for index, service in enumerate(SERVICES):  # one family per service, rarely matching
        rarely_default = 0.0 if index == 0 else None
        found += [
            _filter(f"{service}-errors", f'ERROR "{service}"', default=rarely_default),
            _filter(
                f"{service}-json-errors",
                f'{{ $.service = "{service}" && $.level = "ERROR" }}',
                dimensions={"Level": "$.level"},
            ),
            _filter(
                f"{service}-duration",
                f'{{ $.service = "{service}" && $.durationMs > 2000 }}',
                "$.durationMs",
            ),
            _filter(
                f"{service}-5xx",
                _ACCESS.format(request=f' = "*/{service}/*"', status=" = 5*"),
            ),
            _filter(f"{service}-timeouts", f'?"{service} timeout" ?"{service} timed out"'),
        ]
    found.append(_filter("throttles", '{ $.errorCode = "Throttling*" }'))
    found.append(_filter("denied", '{ $.errorCode = "AccessDenied" || $.status = 403 }'))
    found.append(_filter("unattributed-warnings", '{ $.userId NOT EXISTS && $.level = "WARN" }'))
    found.append(_filter("fatal", "[level = FATAL, message]"))
    found.append(_filter("deprecations", "deprecated -test"))
    assert len(found) == 100, len(found)
    return found


def compile_filters(**options: Any) -> tuple[MetricFilter, ...]:
    """The 100 filters compiled; ``prefilter=False`` gives the plain evaluation."""
    return tuple(compile_metric_filter(d, **options) for d in definitions())


def processors() -> dict[str, Processor]:
    """The paths measured: no filters; the 100 as the core runs them (one prefiltered
    :class:`MetricFilterSet` per batch); the 100 with every filter called on every event."""
    base = load_config(DEFAULT_CONFIG).core
    filtered = dataclasses.replace(base, metric_filters=compile_filters())
    plain = Processor(dataclasses.replace(base, metric_filters=compile_filters(prefilter=False)))
    plain.deriver = MetricsDeriver(plain.config, prefilter=False)
    return {"none": Processor(base), "filters": Processor(filtered), "no_prefilter": plain}


def check_identical(deliveries: list[bytes], paths: dict[str, Processor]) -> int:
    """Every path with filters yields exactly the samples of the plain evaluation.

    The plain evaluation is each filter's pattern run on every event with no
    prefilter (``prefilter=False``); a difference raises AssertionError. Returns
    how many samples the filters yielded, so a silent mix is noticed too.
    """
    total = 0
    for value in deliveries:
        expected = paths["no_prefilter"].process(value).derived.samples
        found = paths["filters"].process(value).derived.samples
        assert found == expected, "the prefiltered samples differ from the plain evaluation"
        total += len(expected)
    baseline = sum(len(paths["none"].process(v).derived.samples) for v in deliveries)
    assert total > baseline, "the 100 filters yielded nothing on this mix"
    return total - baseline


def measure(deliveries: list[bytes], seconds: float, *, gc_tuned: bool = False) -> dict[str, Any]:
    paths = processors()
    samples = check_identical(deliveries, paths)
    if gc_tuned:
        tune_for_batches()  # the daemon's settings, after start-up as it applies them
    work = {name: core_work(processor, deliveries) for name, processor in paths.items()}
    totals = {name: [0, 0.0] for name in work}
    rounds = 5
    for _ in range(rounds):  # alternate, so machine noise falls on all alike
        for name, run in work.items():
            events, spent = _rate(run, seconds / rounds)
            totals[name][0] += events
            totals[name][1] += spent
    rate = {name: events / spent for name, (events, spent) in totals.items()}
    events = sum(len(b.events) for v in deliveries for b in decode(v))
    return {
        "events_per_s_no_filters": round(rate["none"]),
        "events_per_s_100_filters": round(rate["filters"]),
        "ratio": round(rate["filters"] / rate["none"], 3),
        "events_per_s_100_filters_no_prefilter": round(rate["no_prefilter"]),
        "ratio_no_prefilter": round(rate["no_prefilter"] / rate["none"], 3),
        "identical_to_plain_evaluation": True,  # check_identical raised otherwise
        "filter_samples_per_event": round(samples / events, 2),
        "filters": len(definitions()),
        "events": events,
        "gc_tuned": gc_tuned,
        "cpu_seconds_per_path": seconds,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench filters", description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU seconds per path")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument(
        "--gc", action="store_true", help="run every path with the daemon's collector settings"
    )
    args = parser.parse_args(argv)
    result = measure(mixed_deliveries(), args.seconds, gc_tuned=args.gc)
    if args.json:
        sys.stdout.write(orjson.dumps(result).decode() + "\n")
    else:
        for key, value in result.items():
            print(f"{key:30} {value:,}" if not isinstance(value, bool) else f"{key:30} {value}")
    return 0
