"""Metric filters through the prefilter give exactly what the plain evaluation gives.

The plain evaluation (``compile_metric_filter(..., prefilter=False)``) runs
every pattern on every event and reads values from the whole match, as before
the prefilter; the checked filters and a :class:`MetricFilterSet` must yield
the same samples in the same order, on generated messages and on the
benchmark's mix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bench.core import mixed_deliveries
from bench.filters import compile_filters, definitions
from consumers.config import DEFAULT_CONFIG, load_config
from pipeline.derived_metrics import MetricsDeriver
from pipeline.errors import PatternError
from pipeline.metric_filters import MetricFilter, MetricFilterSet, _field, compile_metric_filter
from pipeline.patterns import DelimitedPattern, ParsedMessage, compile_pattern
from pipeline.payload import decode
from pipeline.process import Processor
from tests.unit.test_prefilter import _delimited_patterns, messages


@settings(max_examples=600, deadline=None)
@given(_delimited_patterns, st.lists(st.sampled_from([*list(' \t"[]'), "x", "y", "4", "ab"])))
def test_one_delimited_value_reads_as_the_match_extracts_it(text: str, parts: list[str]) -> None:
    try:
        pattern = compile_pattern(text)
    except PatternError:
        return
    assert isinstance(pattern, DelimitedPattern)
    message = "".join(parts)
    extracted = pattern.extract(message)
    if extracted is None:
        return
    names = [*(f"${name}" for name in pattern.names), *(f"${n}" for n in range(0, 12)), "$zz"]
    for name in names:
        assert pattern.value_reader(name)(ParsedMessage(message)) == _field(extracted, name)


# -- metric filters -------------------------------------------------------------------------

FILTER_DEFINITIONS = [
    {"filterPattern": p, "metricTransformations": [t]}
    for p, t in [
        ("ERROR", {"metricValue": "1", "defaultValue": 0}),
        ('{ $.level = "ERROR" }', {"metricValue": "$.b", "dimensions": {"L": "$.level"}}),
        ("{ $.a = * }", {"metricValue": "$.a"}),
        ("[a, b = 4*, c]", {"metricValue": "$c", "dimensions": {"B": "$b"}}),
        ("[..., b = x*]", {"metricValue": "1", "defaultValue": 2}),
        ("%ab+c%", {"metricValue": "3"}),
        ("", {"metricValue": "1"}),
    ]
]


def _filters(**options: Any) -> list[MetricFilter]:
    found = []
    for number, definition in enumerate(FILTER_DEFINITIONS):
        transformation = {"metricName": f"m{number}", "metricNamespace": "T"}
        transformation |= definition["metricTransformations"][0]
        named = {**definition, "filterName": f"f{number}"}
        named["metricTransformations"] = [transformation]
        found.append(compile_metric_filter(named, **options))
    return found


FAST_FILTERS = _filters()
PLAIN_FILTERS = _filters(prefilter=False)
FILTER_SET = MetricFilterSet(FAST_FILTERS)


@settings(max_examples=300, deadline=None)
@given(messages)
def test_filter_set_gives_what_each_filter_gives(message: str) -> None:
    expected = [s for f in PLAIN_FILTERS for s in f.evaluate(message, 7)]
    assert [s for f in FAST_FILTERS for s in f.evaluate(message, 7)] == expected
    assert FILTER_SET.evaluate(message, 7) == expected


def _events(events: int) -> list[tuple[str, int]]:
    deliveries = mixed_deliveries(events=events, per_delivery=events // 8)
    return [(e.message, e.timestamp) for v in deliveries for b in decode(v) for e in b.events]


def test_the_bench_filters_give_the_same_samples_with_and_without_the_prefilter() -> None:
    plain = compile_filters(prefilter=False)
    fast = compile_filters()
    filter_set = MetricFilterSet(fast)
    produced = 0
    for message, timestamp in _events(800):
        expected = [s for f in plain for s in f.evaluate(ParsedMessage(message), timestamp)]
        assert [s for f in fast for s in f.evaluate(message, timestamp)] == expected
        assert filter_set.evaluate(message, timestamp) == expected
        produced += len(expected)
    assert produced > 800  # the mix does meet these filters


def test_the_core_gives_the_same_samples_with_and_without_the_prefilter() -> None:
    base = load_config(DEFAULT_CONFIG).core
    deliveries = mixed_deliveries(events=800, per_delivery=100)
    outcomes = []
    for filters, prefilter in (
        (compile_filters(prefilter=False), False),  # every filter called on every event
        (compile_filters(), False),  # each filter checks its needs before parsing
        (compile_filters(), True),  # the core's default: one MetricFilterSet per batch
    ):
        processor = Processor(dataclasses.replace(base, metric_filters=filters))
        processor.deriver = MetricsDeriver(processor.config, prefilter=prefilter)
        outcomes.append([processor.process(value).derived.samples for value in deliveries])
    plain, checked, through_set = outcomes
    assert checked == plain
    assert through_set == plain
    assert sum(map(len, plain)) > 800


def test_the_core_runs_its_filters_as_one_set() -> None:
    config = dataclasses.replace(load_config(DEFAULT_CONFIG).core, metric_filters=compile_filters())
    processor = Processor(config)
    batch = decode(mixed_deliveries(events=100, per_delivery=100)[0])[0]
    context = processor.deriver.context(batch, processor.router.route(batch.log_group))
    assert isinstance(context.filter_set, MetricFilterSet)
    assert len(context.filter_set) == 100


def test_the_bench_has_one_hundred_filters_of_every_kind() -> None:
    kinds = {compile_pattern(d["filterPattern"]).kind for d in definitions()}
    assert len(definitions()) == 100
    assert kinds == {"terms", "json", "delimited", "regex"}
