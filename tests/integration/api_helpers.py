"""Helpers for tests against ``cwlpipe serve``: the sample documents in the store, a server on
a free loopback port, and real boto3 clients pointed at it."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import boto3
from botocore.config import Config
from opensearchpy import AsyncOpenSearch

from consumers.api.server import ApiServer
from consumers.config.service import ServiceConfig, service_config
from consumers.devtools.sample_data import sample_payloads
from consumers.opensearch.templates import index_template, template_name
from pipeline.config import config_from_mapping
from pipeline.documents import IndexAction, encode_action
from pipeline.process import Processor

NOW = int(time.time() * 1000)


def sample_documents() -> list[dict[str, Any]]:
    """The sample deliveries' documents, once per id (the store keeps one per id)."""
    processor = Processor(config_from_mapping({}))
    found: dict[str, dict[str, Any]] = {}
    for payload in sample_payloads(NOW - 60_000):
        if payload.good:
            for action in processor.process(payload.data).actions:
                found[action.id] = action.source
    return list(found.values())


async def index(store: str, sources: list[dict[str, Any]]) -> None:
    client = AsyncOpenSearch(hosts=[store], timeout=120)
    try:
        await client.indices.put_index_template(
            name=template_name("cwl"), body=index_template("cwl")
        )
        day = time.strftime("%Y.%m.%d", time.gmtime(NOW / 1000))
        body = b"".join(encode_action(IndexAction(f"cwl-{day}", s["@id"], s)) for s in sources)
        answer = await client.bulk(body=body, params={"refresh": "true"})
        assert not answer["errors"]
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def api_server(
    data: dict[str, Any], env: dict[str, str] | None = None
) -> AsyncIterator[ApiServer]:
    config: ServiceConfig = service_config(data, env=env or {})
    server = ApiServer(config, "127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def logs_client(url: str, key: str = "AKIDTEST", secret: str = "secret") -> Any:
    return boto3.session.Session().client(
        "logs",
        endpoint_url=url,
        region_name="eu-west-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 1}),
    )
