"""Bulk triage, on a scripted connection: acknowledged, retried or refused, one attempt a write."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from isal import isal_zlib
from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import SerializationError

from consumers.config.connections import OpenSearchConfig
from consumers.opensearch.sink import (
    BULK_FILTER,
    ISAL_MAX_LEVEL,
    MAX_ID_BYTES,
    Bulk,
    OpenSearchSink,
    OrjsonSerializer,
    bulk_body,
    compress_body,
    encode_document,
    make_client,
)
from consumers.runtime.protocols import Document, Record
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.writes import write_all
from pipeline.documents import IndexAction
from tests.unit.scripted_connection import ScriptedConnection

ORIGIN = Record("cwl-logs", 0, 0, b"")


def documents(n: int, *, long_id_at: int | None = None) -> list[Document]:
    made = []
    for i in range(n):
        doc_id = "x" * (MAX_ID_BYTES + 88) if i == long_id_at else str(i)
        made.append(encode_document(IndexAction("cwl-2026.11.23", doc_id, {"@id": doc_id}), ORIGIN))
    return made


DOCS = documents(3)


def item(status: int, error: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"status": status}
    if error:
        result["error"] = {"type": error, "reason": f"{error} happened"}
    return {"index": result}


def ok(n: int) -> tuple[int, dict[str, Any]]:
    return 200, {"errors": False, "items": [item(201)] * n}


@pytest.fixture
def sink() -> OpenSearchSink:
    ScriptedConnection.reset()
    return OpenSearchSink(ScriptedConnection.client(), OpenSearchConfig(url="http://scripted:9200"))


async def test_per_item_429_and_5xx_are_to_retry_and_4xx_refused(sink: OpenSearchSink) -> None:
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
        )
    ]
    result = await sink.write(DOCS)
    assert result.acknowledged == 1
    assert result.retry == [DOCS[1]]
    ((refused, status, reason),) = result.refused
    assert (refused.id, status) == ("2", 400)
    assert reason == "mapper_parsing_exception: mapper_parsing_exception happened"
    assert throttles == ["429"]


@pytest.mark.parametrize(
    "failure",
    [
        StoreConnectionError("N/A", "refused", None),
        (429, {"error": {"type": "too_many_requests"}, "status": 429}),
        (503, {"error": {"type": "unavailable"}, "status": 503}),
    ],
)
async def test_a_whole_request_that_failed_for_now_is_retried_whole(
    sink: OpenSearchSink, failure: Any
) -> None:
    ScriptedConnection.script = [failure]
    result = await sink.write(DOCS)
    assert result.retry == DOCS and result.acknowledged == 0 and not result.refused
    assert result.retry_reason


async def test_an_id_over_the_limit_is_refused_alone_before_sending(sink: OpenSearchSink) -> None:
    docs = documents(600, long_id_at=300)
    ScriptedConnection.script = [ok(599)]
    result = await sink.write(docs)
    assert result.acknowledged == 599
    ((refused, status, reason),) = result.refused
    assert refused is docs[300] and status == 400
    assert f"over OpenSearch's limit of {MAX_ID_BYTES}" in reason
    assert docs[300].body not in ScriptedConnection.bodies()[0]


async def test_a_whole_request_refused_for_good_is_split_until_the_culprit_is_alone(
    sink: OpenSearchSink,
) -> None:
    bad = (400, {"error": {"type": "illegal_argument_exception", "reason": "bad"}, "status": 400})
    # 4 documents, the last is bad: [0 1 2 3] -> [0 1] ok, [2 3] -> [2] ok, [3] refused
    ScriptedConnection.script = [bad, ok(2), bad, ok(1), bad]
    docs = documents(4)
    result = await sink.write(docs)
    assert result.acknowledged == 3
    assert [r.document for r in result.refused] == [docs[3]]
    assert [r.status for r in result.refused] == [400]


async def test_a_short_answer_never_counts_the_missing_items(sink: OpenSearchSink) -> None:
    ScriptedConnection.script = [ok(1)]
    result = await sink.write(DOCS)
    assert result.acknowledged == 1 and result.retry == DOCS[1:]


async def test_write_all_retries_only_what_is_pending(sink: OpenSearchSink) -> None:
    ScriptedConnection.script = [
        (200, {"errors": True, "items": [item(201), item(503, "x"), item(201)]}),
        ok(1),
    ]
    result = await write_all(
        sink, DOCS, policy=RetryPolicy(0.001, 0.001), stop=StopSignal(), max_attempts=3
    )
    assert result.acknowledged == 3 and not result.retry
    assert ScriptedConnection.bodies()[1] == DOCS[1].body


def test_chunks_respect_the_action_and_byte_limits() -> None:
    settings = OpenSearchConfig(url="http://x", bulk_max_actions=2, bulk_max_bytes=10_000)
    sink = OpenSearchSink(AsyncOpenSearch(hosts=["http://x"]), settings)
    many = [encode_document(IndexAction("i", str(i), {"m": "x" * 3000}), ORIGIN) for i in range(7)]
    chunks = sink.chunks(many)
    assert [len(c) for c in chunks] == [2, 2, 2, 1]
    assert [d for c in chunks for d in c] == many


def test_a_lone_surrogate_cannot_be_encoded_and_says_so() -> None:
    with pytest.raises(TypeError):
        encode_document(IndexAction("i", "1", {"@message": "\ud800"}), ORIGIN)


def test_bulk_body_is_the_documents_lines() -> None:
    action = IndexAction("i", "1", {"a": 1})
    assert bulk_body([action]) == b'{"index":{"_index":"i","_id":"1"}}\n{"a":1}\n'


@pytest.mark.parametrize("compress", [True, False])
async def test_bodies_are_gzipped_at_the_configured_level_or_sent_plain(compress: bool) -> None:
    ScriptedConnection.reset([ok(3)])
    settings = OpenSearchConfig(url="http://scripted:9200", http_compress=compress)
    sink = OpenSearchSink(ScriptedConnection.client(), settings)
    assert (await sink.write(DOCS)).acknowledged == 3
    assert ScriptedConnection.compressed == (1 if compress else 0)
    assert ScriptedConnection.bodies() == [b"".join(d.body for d in DOCS)]


async def test_the_client_decodes_answers_with_orjson_and_malformed_ones_as_before() -> None:
    client = make_client(OpenSearchConfig(url="http://127.0.0.1:9"))
    try:
        deserializer = client.transport.deserializer
        assert isinstance(deserializer.serializers["application/json"], OrjsonSerializer)
        answer = {"took": 3, "errors": False, "items": [item(201)] * 2, "ratio": 0.5}
        assert deserializer.loads(json.dumps(answer), "application/json") == answer
        largest = '{"unsigned_long": 18446744073709551615}'
        assert deserializer.loads(largest, "application/json") == {"unsigned_long": 2**64 - 1}
        with pytest.raises(SerializationError):
            deserializer.loads("{not json", "application/json")
    finally:
        await client.close()


async def test_the_store_is_asked_for_each_items_status_and_error_only(
    sink: OpenSearchSink,
) -> None:
    ScriptedConnection.script = [ok(3)]
    assert (await sink.write(DOCS)).acknowledged == 3
    ((method, url, params, _),) = ScriptedConnection.requests
    assert (method, url) == ("POST", "/_bulk")
    assert params == BULK_FILTER == {"filter_path": "errors,items.*.status,items.*.error"}


async def test_an_answer_that_says_no_errors_acknowledges_its_whole_request(
    sink: OpenSearchSink,
) -> None:
    # the items disagree on purpose: with errors false they are not read one by one
    ScriptedConnection.script = [(200, {"errors": False, "items": [item(201), item(429)] * 2})]
    docs = documents(4)
    result = await sink.write(docs)
    assert result.acknowledged == 4 and not result.retry and not result.refused


async def test_an_answer_without_its_errors_flag_is_triaged_item_by_item(
    sink: OpenSearchSink,
) -> None:
    ScriptedConnection.script = [(200, {"items": [item(201), item(503, "x"), item(201)]})]
    result = await sink.write(DOCS)
    assert result.acknowledged == 2 and result.retry == [DOCS[1]]


async def test_ids_are_measured_in_utf8_bytes_whatever_their_length_in_characters(
    sink: OpenSearchSink,
) -> None:
    at_limit = encode_document(IndexAction("i", "\U0001f600" * 128, {}), ORIGIN)  # 512 bytes
    over = encode_document(IndexAction("i", "\u00e9" * 257, {}), ORIGIN)  # 514 bytes
    ScriptedConnection.script = [ok(1)]
    result = await sink.write([at_limit, over])
    assert result.acknowledged == 1
    assert [r.document for r in result.refused] == [over]


async def test_a_prepared_write_sends_what_an_unprepared_one_sends(sink: OpenSearchSink) -> None:
    sink.settings = OpenSearchConfig(url="http://x", bulk_max_actions=3, bulk_max_bytes=200)
    docs = [
        encode_document(IndexAction("i", str(i), {"m": "x" * (i * 37 % 150)}), ORIGIN)
        for i in range(11)
    ]
    docs.insert(5, documents(1, long_id_at=0)[0])
    ScriptedConnection.reset([ok(3)] * 20)
    plain = await sink.write(list(docs))
    sent_plain = ScriptedConnection.bodies()
    ScriptedConnection.reset([ok(3)] * 20)
    prepared = sink.prepare(docs)
    assert isinstance(prepared, Bulk) and prepared == docs
    ahead = await sink.write(prepared)
    assert ScriptedConnection.bodies() == sent_plain
    assert (ahead.acknowledged, ahead.refused) == (plain.acknowledged, plain.refused)


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=300), max_size=40),
    max_actions=st.integers(min_value=1, max_value=6),
    max_bytes=st.integers(min_value=1, max_value=700),
)
@example(sizes=[100, 100, 100, 100], max_actions=6, max_bytes=200)  # a request exactly full
@example(sizes=[50, 300, 50], max_actions=6, max_bytes=200)  # one document over the limit
def test_requests_prepared_ahead_are_cut_as_chunks_cuts_them(
    sizes: list[int], max_actions: int, max_bytes: int
) -> None:
    settings = OpenSearchConfig(
        url="http://x", bulk_max_actions=max_actions, bulk_max_bytes=max_bytes
    )
    sink = OpenSearchSink(AsyncOpenSearch(hosts=["http://x"]), settings)
    docs = [Document("i", str(i), b"x" * size, ORIGIN) for i, size in enumerate(sizes)]
    bulk = sink.prepare(docs)
    assert [bulk.sendable[start:end] for start, end in bulk.requests] == sink.chunks(docs)


@pytest.mark.parametrize("level", range(1, 10))
def test_bodies_compress_to_gzip_at_every_level(level: int) -> None:
    body = bulk_body([IndexAction("cwl-2026.11.25", str(i), {"m": f"line {i}"}) for i in range(50)])
    assert gzip.decompress(compress_body(body, level)) == body


def test_levels_up_to_isals_highest_are_isals_and_the_rest_zlibs() -> None:
    body = bulk_body([IndexAction("cwl-2026.11.25", str(i), {"m": f"line {i}"}) for i in range(50)])
    for level in range(1, ISAL_MAX_LEVEL + 1):
        assert compress_body(body, level) == isal_zlib.compress(body, level, wbits=31)
    for level in range(ISAL_MAX_LEVEL + 1, 10):
        assert compress_body(body, level) == zlib.compress(body, level, wbits=31)
