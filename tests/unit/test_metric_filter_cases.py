"""Every case of shared/reference/metric-filter-cases.json gives the datapoints it states."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

import pytest

from pipeline.errors import MetricFilterError
from pipeline.metric_filters import MetricSample, compile_metric_filter
from tests.conftest import NO_SHARED, SHARED

MINUTE = 60_000
T0 = 1_700_000_040_000  # the start of a minute
SYSTEM_FIELDS = {"@aws.region": "eu-west-1", "@aws.account": "123456789012"}


def load_cases() -> list[dict[str, Any]]:
    if SHARED is None:
        return []
    path = SHARED / "reference" / "metric-filter-cases.json"
    return list(json.loads(path.read_text(encoding="utf-8"))["cases"])


CASES = load_cases()


def definition_of(case: dict[str, Any]) -> dict[str, Any]:
    transformation: dict[str, Any] = {
        "metricName": "CaseMetric",
        "metricNamespace": "Cases",
        "metricValue": case["metricValue"],
    }
    for key in ("defaultValue", "dimensions", "unit"):
        if key in case:
            transformation[key] = case[key]
    definition: dict[str, Any] = {
        "filterName": case["id"],
        "filterPattern": case["filterPattern"],
        "metricTransformations": [transformation],
    }
    if "emitSystemFieldDimensions" in case:
        definition["emitSystemFieldDimensions"] = case["emitSystemFieldDimensions"]
    return definition


def evaluate(case: dict[str, Any]) -> list[MetricSample]:
    metric_filter = compile_metric_filter(definition_of(case))
    samples: list[MetricSample] = []
    timed = [(T0 + i, e) for i, e in enumerate(case.get("events", []))]
    timed += [(T0 + i, e) for i, e in enumerate(case.get("minute1_events", []))]
    timed += [(T0 + MINUTE + i, e) for i, e in enumerate(case.get("minute2_events", []))]
    for timestamp, message in timed:
        samples += metric_filter.evaluate(message, timestamp, system_fields=SYSTEM_FIELDS)
    return samples


def statistics(samples: list[MetricSample]) -> dict[str, float]:
    values = [s.value for s in samples]
    return {
        "Sum": sum(values),
        "SampleCount": len(values),
        "Minimum": min(values),
        "Maximum": max(values),
    }


def test_the_cases_are_there() -> None:
    if SHARED is None:
        pytest.skip(NO_SHARED)
    assert len(CASES) >= 17


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_gives_the_stated_datapoints(case: dict[str, Any]) -> None:
    expect = case["expect"]
    if "accepted" in expect:
        if expect["accepted"]:
            compile_metric_filter(definition_of(case))
        else:
            with pytest.raises(MetricFilterError) as raised:
                compile_metric_filter(definition_of(case))
            if "error" in expect:
                reason = expect["error"].removeprefix("InvalidParameterException: ")
                assert str(raised.value) == reason
        return
    samples = evaluate(case)
    if "datapoints" in expect:
        assert [s.value for s in samples] == expect["datapoints"]
    if "Sum" in expect:
        stats = statistics(samples)
        for statistic in ("Sum", "SampleCount", "Minimum", "Maximum"):
            if statistic in expect:
                assert stats[statistic] == expect[statistic], statistic
    if "minute1_sum" in expect:
        per_minute: dict[int, float] = defaultdict(float)
        for sample in samples:
            per_minute[(sample.timestamp - T0) // MINUTE] += sample.value
        assert per_minute[0] == expect["minute1_sum"]
        assert per_minute[1] == expect["minute2_sum"]
    if "series" in expect:
        series: dict[tuple[tuple[str, str], ...], list[MetricSample]] = defaultdict(list)
        for sample in samples:
            series[tuple(sorted(sample.dimensions.items()))].append(sample)
        for wanted in expect["series"]:
            key = tuple(sorted(wanted["dimensions"].items()))
            assert key in series, f"no series {wanted['dimensions']}"
            stats = statistics(series[key])
            for statistic, value in wanted.items():
                if statistic != "dimensions":
                    assert (
                        stats[statistic.capitalize() if statistic == "sum" else statistic] == value
                    )
        for absent in expect.get("absentSeries", []):
            assert tuple(sorted(absent["dimensions"].items())) not in series
