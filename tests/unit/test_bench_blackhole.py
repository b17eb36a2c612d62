"""The benchmark's blackhole answers a gzipped ``_bulk`` as OpenSearch does, one item per action,
and what the daemon asks a store at start-up (no timing is asserted)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import aiohttp
import orjson
import pytest

from bench.blackhole import Blackhole, acknowledge
from consumers.config import DEFAULT_CONFIG, load_config
from consumers.config.connections import OpenSearchConfig
from consumers.opensearch.retention import RetentionManager
from consumers.opensearch.sink import OpenSearchSink, encode_document, make_client
from consumers.runtime.protocols import Record
from pipeline.documents import IndexAction

NDJSON = (
    b'{"index":{"_index":"cwl-2026.11.25","_id":"a"}}\n{"@message":"one"}\n'
    b'{"delete":{"_index":"cwl-2026.11.25","_id":"b"}}\n'
    b'{ "create" : { "_index" : "cwl-2026.11.25", "_id" : "c" } }\n{"@message":"three"}\n'
    b'{"index":{"_index":"cwl-2026.11.25"}}\n{"@message":"no id"}\n'
)


def test_one_item_per_action_with_its_index_id_and_status() -> None:
    answer, count = acknowledge(NDJSON)
    parsed = orjson.loads(answer)
    assert count == 4
    assert parsed["errors"] is False
    ops = [(op, item["_index"], item["status"]) for i in parsed["items"] for op, item in i.items()]
    assert ops == [
        ("index", "cwl-2026.11.25", 201),
        ("delete", "cwl-2026.11.25", 200),
        ("create", "cwl-2026.11.25", 201),
        ("index", "cwl-2026.11.25", 201),
    ]
    ids = [item["_id"] for i in parsed["items"] for item in i.values()]
    assert ids[:3] == ["a", "b", "c"] and ids[3]  # an id is made up when the action has none
    first = parsed["items"][0]["index"]
    assert first["result"] == "created" and first["_shards"]["successful"] == 1


def test_filter_path_keeps_what_opensearch_would_keep() -> None:
    filtered = orjson.loads(acknowledge(NDJSON, "items.*.status,items.*.error")[0])
    assert filtered == {
        "items": [
            {"index": {"status": 201}},
            {"delete": {"status": 200}},
            {"create": {"status": 201}},
            {"index": {"status": 201}},
        ]
    }
    assert orjson.loads(acknowledge(NDJSON, "errors,took")[0]) == {"took": 0, "errors": False}
    assert acknowledge(NDJSON, "hits.hits._id")[0] == acknowledge(NDJSON)[0]  # not filtered


def test_a_malformed_action_line_is_refused() -> None:
    with pytest.raises(ValueError):
        acknowledge(b'{"upsert":{"_index":"x"}}\n{}\n')


@pytest.fixture
async def served() -> AsyncIterator[tuple[Blackhole, str]]:
    blackhole = Blackhole(gated=True)
    runner, url = await blackhole.start()
    try:
        yield blackhole, url
    finally:
        await runner.cleanup()


async def test_a_gzipped_bulk_is_counted_and_the_sink_acknowledges_every_document(
    served: tuple[Blackhole, str],
) -> None:
    blackhole, url = served
    origin = Record("t", 0, 0, b"")
    actions = [IndexAction("cwl-2026.11.25", str(n), {"@message": f"m{n}"}) for n in range(2500)]
    documents = [encode_document(action, origin) for action in actions]
    settings = OpenSearchConfig(url=url, compress_level=1)
    sink = OpenSearchSink(make_client(settings), settings)
    async with aiohttp.ClientSession() as session:
        try:
            writing = asyncio.create_task(sink.write(documents))
            waiting = asyncio.create_task(session.get(f"{url}/_bench/wait?documents=2500"))
            await asyncio.wait_for(blackhole.wait_held(1), 10)
            assert not writing.done()  # gated: held until opened
            await session.post(f"{url}/_bench/open")
            result = await writing
            stats = await (await waiting).json()
        finally:
            await sink.close()
    assert result.acknowledged == 2500 and not result.retry and not result.refused
    assert stats["documents"] == blackhole.stats.documents == 2500
    assert stats["bulk_requests"] == 3  # 1,000 actions a request
    assert stats["body_bytes"] < stats["decoded_bytes"]  # the sink gzipped them


async def test_what_the_daemon_asks_at_start_up_is_answered(
    served: tuple[Blackhole, str],
) -> None:
    blackhole, url = served
    blackhole.opened.set()
    settings = OpenSearchConfig(url=url)
    client = make_client(settings)
    try:
        info = await client.info()
        assert info["version"]["distribution"] == "opensearch"
        sink = OpenSearchSink(client, settings)
        assert await sink.install_templates(["cwl"]) == ["cwlpipe-cwl"]
        assert await sink.install_templates(["cwl"]) == []  # found, same version
        routes = load_config(DEFAULT_CONFIG, env={}).router().all_routes
        first = await RetentionManager(client).apply(routes)
        assert first.ism and first.created
        again = await RetentionManager(client).apply(routes)
        assert again.unchanged == first.created and not again.created and not again.updated
    finally:
        await client.close()
    assert blackhole.stats.unknown == []


async def test_a_plain_body_is_read_too(served: tuple[Blackhole, str]) -> None:
    blackhole, url = served
    blackhole.opened.set()
    headers = {"content-type": "application/x-ndjson"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/_bulk", data=NDJSON, headers=headers) as plain:
            assert len((await plain.json())["items"]) == 4
        members = gzip.compress(NDJSON[:49]) + gzip.compress(NDJSON[49:])  # back to back
        headers["content-encoding"] = "gzip"
        async with session.post(f"{url}/_bulk", data=members, headers=headers) as packed:
            assert len((await packed.json())["items"]) == 4
    assert blackhole.stats.documents == 8
