"""``POST /firehose`` with requests shaped exactly as Kinesis Data Firehose sends them (plain
and gzip), against the real broker: every record on the log topic before the 200, and a broker
that is down answered with a non-200 and an errorMessage, so Firehose retries."""

from __future__ import annotations

import base64
import gzip
import uuid
from typing import Any

import aiohttp
import orjson
import pytest

from consumers.devtools.local_servers import free_port
from consumers.kafka.source import read_from_start
from tests.integration.api_helpers import api_server
from tests.integration.kafka_helpers import create_topics, unique

pytestmark = pytest.mark.integration

ACCESS_KEY = "firehose-secret"


def delivery(records: list[bytes]) -> tuple[bytes, dict[str, str]]:
    """A Firehose HTTP endpoint request: body and headers, as the service sends them."""
    request_id = str(uuid.uuid4())
    body = orjson.dumps(
        {
            "requestId": request_id,
            "timestamp": 1578090901599,
            "records": [{"data": base64.b64encode(r).decode("ascii")} for r in records],
        }
    )
    headers = {
        "Content-Type": "application/json",
        "X-Amz-Firehose-Protocol-Version": "1.0",
        "X-Amz-Firehose-Request-Id": request_id,
        "X-Amz-Firehose-Source-Arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/cwl",
        "X-Amz-Firehose-Access-Key": ACCESS_KEY,
        "X-Amz-Firehose-Common-Attributes": '{"commonAttributes":{"team":"payments"}}',
        "User-Agent": "Amazon Kinesis Data Firehose Agent/1.0",
    }
    return body, headers


async def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/firehose", data=body, headers=headers) as answer,
    ):
        return answer.status, orjson.loads(await answer.read())


def config(bootstrap: str, topic: str) -> dict[str, Any]:
    return {
        "opensearch": {"url": "http://127.0.0.1:9"},
        "kafka": {"bootstrap_servers": bootstrap, "input_topics": [topic]},
        "api": {"firehose_timeout_s": 20},
    }


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
async def test_records_are_on_the_log_topic_before_the_200(
    kafka_bootstrap: str, compressed: bool
) -> None:
    topic = unique("firehose")
    await create_topics(kafka_bootstrap, {topic: 1})
    records = [
        gzip.compress(f'{{"messageType": "DATA_MESSAGE", "n": {n}}}'.encode()) for n in range(3)
    ]
    body, headers = delivery(records)
    if compressed:
        body, headers = gzip.compress(body), {**headers, "Content-Encoding": "gzip"}
    env = {"CWLPIPE_FIREHOSE_ACCESS_KEY": ACCESS_KEY}
    async with api_server(config(kafka_bootstrap, topic), env=env) as server:
        status, answer = await post(server.url, body, headers)
    assert status == 200, answer
    assert answer["requestId"] == headers["X-Amz-Firehose-Request-Id"]
    assert isinstance(answer["timestamp"], int) and "errorMessage" not in answer
    published = await read_from_start(kafka_bootstrap, topic, len(records))
    assert [r.value for r in published] == records
    kafka_headers = dict(published[0].headers)
    assert orjson.loads(kafka_headers["firehose-common-attributes"]) == {"team": "payments"}
    assert kafka_headers["firehose-request-id"].decode() == answer["requestId"]


async def test_a_wrong_access_key_publishes_nothing(kafka_bootstrap: str) -> None:
    topic = unique("firehose")
    await create_topics(kafka_bootstrap, {topic: 1})
    body, headers = delivery([b"x"])
    env = {"CWLPIPE_FIREHOSE_ACCESS_KEY": ACCESS_KEY}
    async with api_server(config(kafka_bootstrap, topic), env=env) as server:
        status, answer = await post(
            server.url, body, {**headers, "X-Amz-Firehose-Access-Key": "guess"}
        )
    assert status == 401 and answer["errorMessage"]
    assert await read_from_start(kafka_bootstrap, topic, 1, timeout_s=1.0) == []


async def test_a_broker_that_is_down_is_a_non_200_with_an_error_message() -> None:
    down = f"127.0.0.1:{free_port()}"  # nothing listens there
    body, headers = delivery([b"x", b"y"])
    env = {"CWLPIPE_FIREHOSE_ACCESS_KEY": ACCESS_KEY}
    async with api_server(config(down, "cwl-logs"), env=env) as server:
        status, answer = await post(server.url, body, headers)
    assert status == 503
    assert answer["requestId"] == headers["X-Amz-Firehose-Request-Id"]
    assert "Kafka" in answer["errorMessage"]
