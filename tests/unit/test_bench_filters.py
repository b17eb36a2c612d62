"""``python -m bench filters``: what it prints, on a small mix (no timing is asserted)."""

from __future__ import annotations

import pytest

from bench.core import mixed_deliveries
from bench.filters import measure


def test_measure_reports_both_ratios_after_checking_the_samples() -> None:
    result = measure(mixed_deliveries(events=400, per_delivery=100), 0.05)
    assert result["identical_to_plain_evaluation"] is True
    assert result["filters"] == 100
    assert result["events"] == 400
    assert result["filter_samples_per_event"] > 1
    for rate, ratio in (
        ("events_per_s_100_filters", "ratio"),
        ("events_per_s_100_filters_no_prefilter", "ratio_no_prefilter"),
    ):
        assert result[ratio] == pytest.approx(
            result[rate] / result["events_per_s_no_filters"], rel=0.01
        )
