"""Integers too large for a double, which the lenient JSON parse admits, raise nowhere.

Such a message used to raise OverflowError out of ``match`` (``math.isfinite``
on the integer) and out of a metric filter's ``evaluate`` (``float``), taking
the whole record with it. Integers are compared exactly; as a metric value one
is no number a datapoint can carry.
"""

from __future__ import annotations

import pytest

from pipeline.metric_filters import compile_metric_filter
from pipeline.patterns import compile_pattern
from pipeline.patterns.values import parse_number

BIG = "9" * 400
DOCUMENT = '{"a": ' + BIG + "}"


@pytest.mark.parametrize(
    ("pattern", "matches"),
    [
        ("{ $.a > 0 }", True),
        ("{ $.a < 0 }", False),
        ("{ $.a = 1 }", False),
        ("{ $.a != 1 }", True),
        ("{ $.a = " + BIG + " }", True),
        ("{ $.a = 9* }", True),
        ("{ $.a = * }", True),
    ],
)
def test_json_patterns_compare_a_huge_integer_exactly(pattern: str, matches: bool) -> None:
    assert (compile_pattern(pattern).match(DOCUMENT) is not None) is matches


@pytest.mark.parametrize("prefilter", [True, False])
def test_a_huge_integer_metric_value_yields_no_datapoint(prefilter: bool) -> None:
    definition = {
        "filterName": "huge",
        "filterPattern": "{ $.a = * }",
        "metricTransformations": [
            {"metricName": "m", "metricNamespace": "n", "metricValue": "$.a"}
        ],
    }
    metric_filter = compile_metric_filter(definition, prefilter=prefilter)
    assert metric_filter.evaluate(DOCUMENT, 1) == []
    assert [s.value for s in metric_filter.evaluate('{"a": 12}', 1)] == [12.0]


def test_digits_parse_as_exact_integers() -> None:
    assert parse_number("0404") == 404
    assert parse_number(BIG) == int(BIG)
    assert parse_number("١٢") is None  # digits, but not ASCII ones
    assert parse_number("") is None
