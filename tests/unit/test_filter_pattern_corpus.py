"""Every row of the shared filter-pattern corpus, as AWS documents and answers it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.patterns import PatternError, compile_pattern
from tests.conftest import NO_SHARED, SHARED


def _rows() -> list[Any]:
    if SHARED is None:
        return [pytest.param(None, marks=pytest.mark.skip(reason=NO_SHARED), id="no-shared")]
    path = SHARED / "reference" / "filter-pattern-corpus.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [pytest.param(row, id=f"{n}:{row['pattern'][:40]}") for n, row in enumerate(rows, 1)]


@pytest.mark.parametrize("row", _rows())
def test_corpus_row(row: dict[str, Any]) -> None:
    if "error" in row:
        with pytest.raises(PatternError):
            compile_pattern(row["pattern"])
        return
    match = compile_pattern(row["pattern"]).match(row["message"])
    assert (match is not None) == row["match"], row.get("note")
    if match is not None and row["extracted"] is not None:
        assert match.extracted_values == row["extracted"]
