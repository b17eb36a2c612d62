"""Metric filters through the prefilter give exactly what the plain evaluation gives.

The plain evaluation (``compile_metric_filter(..., prefilter=False)``) runs
every pattern on every event and reads values from the whole match, as before
the prefilter; the checked filters and a :class:`MetricFilterSet` must yield
the same samples in the same order.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import PatternError
from pipeline.metric_filters import MetricFilter, MetricFilterSet, _field, compile_metric_filter
from pipeline.patterns import DelimitedPattern, ParsedMessage, compile_pattern
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
