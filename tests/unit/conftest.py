"""With ``CWLPIPE_INSIGHTS_STORE`` set, the Logs Insights tests run through the store too."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _insights_through_the_store(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ.get("CWLPIPE_INSIGHTS_STORE")
    module = request.module
    name = module.__name__.rsplit(".", 1)[-1]
    if url and name.startswith("test_insights_") and hasattr(module, "run_query"):
        from tests.insights_store import store_run_query

        monkeypatch.setattr(module, "run_query", store_run_query(url))
