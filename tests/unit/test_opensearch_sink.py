"""Bulk triage, on a scripted connection: what is retried, what is refused, when to pause."""

from __future__ import annotations

from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as StoreConnectionError

from consumers.opensearch.sink import OpenSearchSink, StoreUnavailable, bulk_body
from pipeline.connection_config import OpenSearchConfig
from pipeline.documents import IndexAction
from tests.unit.scripted_connection import ScriptedConnection

ACTIONS = [IndexAction("cwl-2026.11.23", str(i), {"@id": str(i)}) for i in range(3)]


def item(status: int, error: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status}
    if error:
        result["error"] = {"type": error, "reason": f"{error} happened"}
    return {"index": result}


@pytest.fixture
def sink() -> OpenSearchSink:
    ScriptedConnection.reset()
    client = ScriptedConnection.client()
    settings = OpenSearchConfig(url="http://scripted:9200", max_retries=2)

    async def no_sleep(seconds: float) -> None:
        return None

    return OpenSearchSink(client, settings, sleep=no_sleep)


async def test_per_item_429_and_5xx_are_retried_alone_and_4xx_refused(sink: OpenSearchSink) -> None:
    throttles: list[str] = []
    sink.on_throttle = throttles.append
    ScriptedConnection.script = [
        (
            200,
            {
                "errors": True,
                "items": [
                    item(201),
                    item(429, "es_rejected_execution_exception"),
                    item(400, "mapper_parsing_exception"),
                ],
            },
        ),
        (200, {"errors": True, "items": [item(503, "unavailable_shards_exception")]}),
        (200, {"errors": False, "items": [item(200)]}),
    ]
    report = await sink.write(ACTIONS)
    assert report.indexed == 2 and report.retries == 2
    (rejection,) = report.rejected
    assert (rejection.action.id, rejection.status) == ("2", 400)
    assert rejection.reason == "mapper_parsing_exception: mapper_parsing_exception happened"
    assert throttles == ["429", "503"]
    # the retries carry only the retried document
    assert ScriptedConnection.bodies()[1] == bulk_body([ACTIONS[1]])


async def test_connection_errors_and_whole_request_429_retry_then_pause(
    sink: OpenSearchSink,
) -> None:
    ScriptedConnection.script = [
        StoreConnectionError("N/A", "refused", None),
        (429, {"error": {"type": "too_many_requests"}, "status": 429}),
        (503, {"error": {"type": "unavailable"}, "status": 503}),
    ]
    with pytest.raises(StoreUnavailable) as raised:
        await sink.write(ACTIONS)
    assert raised.value.pending == ACTIONS  # nothing dropped: the caller retries these
    assert raised.value.retriable


async def test_whole_request_refused_for_good_rejects_every_document(sink: OpenSearchSink) -> None:
    ScriptedConnection.script = [(413, {"error": {"type": "request_too_large"}, "status": 413})]
    report = await sink.write(ACTIONS)
    assert report.indexed == 0
    assert [r.status for r in report.rejected] == [413, 413, 413]


async def test_a_short_answer_never_counts_the_missing_items(sink: OpenSearchSink) -> None:
    ScriptedConnection.script = [
        (200, {"errors": False, "items": [item(201)]}),
        (200, {"errors": False, "items": [item(201), item(201)]}),
    ]
    report = await sink.write(ACTIONS)
    assert report.indexed == 3 and report.retries == 1


def test_backoff_is_full_jitter_under_the_ceiling(sink: OpenSearchSink) -> None:
    values = [sink.backoff(attempt) for attempt in range(20) for _ in range(20)]
    assert all(0 <= v <= sink.settings.max_backoff_s for v in values)
    assert max(sink.backoff(1) for _ in range(200)) <= sink.settings.initial_backoff_s * 2


def test_chunks_respect_the_action_and_byte_limits() -> None:
    settings = OpenSearchConfig(url="http://x", bulk_max_actions=2, bulk_max_bytes=10_000)
    sink = OpenSearchSink(AsyncOpenSearch(hosts=["http://x"]), settings)
    many = [IndexAction("i", str(i), {"m": "x" * 3000}) for i in range(7)]
    chunks = sink._chunks(many)
    assert [len(c) for c, _ in chunks] == [2, 2, 2, 1]
    assert [a for c, _ in chunks for a in c] == many
    assert [body for _, body in chunks] == [bulk_body(c) for c, _ in chunks]
