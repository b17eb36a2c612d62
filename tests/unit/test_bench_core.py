"""``python -m bench core --json`` prints what other tools read (no timing is asserted)."""

from __future__ import annotations

import orjson
import pytest

from bench.core import main, mixed_deliveries
from pipeline.payload import decode


def test_the_generated_mix_is_ten_thousand_events_of_four_kinds() -> None:
    deliveries = mixed_deliveries()
    batches = [batch for value in deliveries for batch in decode(value)]
    assert sum(len(b.events) for b in batches) == 10_000
    assert {b.log_group for b in batches} == {
        "/aws/lambda/orders",
        "API-Gateway-Execution-Logs_abc/prod",
    }
    sizes = [len(e.message) for b in batches for e in b.events]
    assert 100 < sum(sizes) / len(sizes) < 260  # about the 176 bytes measured


def test_json_output_has_the_named_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seconds", "0.05", "--json"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert {"events_per_s", "minimal_path_events_per_s", "ratio"} <= set(result)
    assert result["ratio"] == pytest.approx(
        result["events_per_s"] / result["minimal_path_events_per_s"], rel=0.01
    )
