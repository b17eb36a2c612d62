"""The Firehose HTTP endpoint protocol with a scripted producer: the answer Firehose expects,
the access key, refusals, and a broker that fails."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import orjson
import pytest
from aiokafka.errors import KafkaConnectionError

from consumers.api.firehose import FirehoseEndpoint
from consumers.config.service import service_config
from tests.unit.api_doubles import request

RECORDS = [b"\x1f\x8bfirst delivery", b"second"]


class Producer:
    """Records what was sent; ``fail`` makes start or the acknowledgement fail."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.sent: list[tuple[str, bytes, list[tuple[str, bytes]]]] = []
        self.stopped = False

    async def start(self) -> None:
        if self.fail == "start":
            raise KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9)]")

    async def stop(self) -> None:
        self.stopped = True

    async def send(self, topic: str, value: bytes, headers: Any = None) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.fail == "ack":
            future.set_exception(KafkaConnectionError("broker went away"))
        else:
            self.sent.append((topic, value, headers))
            future.set_result(None)
        return future


def firehose_body(request_id: str = "req-1", records: list[bytes] = RECORDS) -> bytes:
    return orjson.dumps(
        {
            "requestId": request_id,
            "timestamp": 1578090901599,
            "records": [{"data": base64.b64encode(r).decode()} for r in records],
        }
    )


HEADERS = {
    "Content-Type": "application/json",
    "X-Amz-Firehose-Protocol-Version": "1.0",
    "X-Amz-Firehose-Request-Id": "req-1",
    "X-Amz-Firehose-Source-Arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/logs",
    "X-Amz-Firehose-Common-Attributes": '{"commonAttributes":{"env":"prod"}}',
}


async def post(
    endpoint: FirehoseEndpoint, body: bytes, headers: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    answer = await endpoint.handle(request(body, headers, path="/firehose"))
    assert answer.content_type == "application/json"
    assert isinstance(answer.body, bytes)
    return answer.status, orjson.loads(answer.body)


def endpoint(
    producer: Producer, *, key: str | None = None, required: bool = False
) -> FirehoseEndpoint:
    env = {"CWLPIPE_FIREHOSE_ACCESS_KEY": key} if key else {}
    config = service_config({"kafka": {"input_topics": ["logs-in"]}}, env=env)
    return FirehoseEndpoint(config, key_required=required, producer_factory=lambda: producer)  # type: ignore[arg-type,return-value]


async def test_each_record_is_published_then_200_echoes_the_request_id() -> None:
    producer = Producer()
    status, body = await post(endpoint(producer), firehose_body(), HEADERS)
    assert status == 200
    assert body["requestId"] == "req-1" and isinstance(body["timestamp"], int)
    assert "errorMessage" not in body
    assert [(topic, value) for topic, value, _ in producer.sent] == [
        ("logs-in", RECORDS[0]),
        ("logs-in", RECORDS[1]),
    ]
    headers = dict(producer.sent[0][2])
    assert orjson.loads(headers["firehose-common-attributes"]) == {"env": "prod"}
    assert headers["firehose-request-id"] == b"req-1"


@pytest.mark.parametrize("fail", ["start", "ack"])
async def test_a_broker_failure_is_non_200_with_an_error_message(fail: str) -> None:
    status, body = await post(endpoint(Producer(fail)), firehose_body(), HEADERS)
    assert status == 503
    assert body["requestId"] == "req-1"
    assert "Kafka" in body["errorMessage"]


async def test_the_access_key_is_checked() -> None:
    producer = Producer()
    status, body = await post(
        endpoint(producer, key="k1"),
        firehose_body(),
        {**HEADERS, "X-Amz-Firehose-Access-Key": "k2"},
    )
    assert status == 401 and body["errorMessage"]
    assert producer.sent == []
    status, _ = await post(
        endpoint(producer, key="k1"),
        firehose_body(),
        {**HEADERS, "X-Amz-Firehose-Access-Key": "k1"},
    )
    assert status == 200


async def test_beyond_loopback_a_key_must_be_configured() -> None:
    status, body = await post(endpoint(Producer(), required=True), firehose_body(), HEADERS)
    assert status == 401
    assert "firehose_access_key" in body["errorMessage"]


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"not json", HEADERS, 400),
        (b'{"records": [{"data": "!!!"}]}', HEADERS, 400),
        (firehose_body("other-id"), HEADERS, 400),
        (firehose_body(), {**HEADERS, "Content-Type": "text/plain"}, 415),
        (firehose_body(), {k: v for k, v in HEADERS.items() if "Request-Id" not in k}, 400),
        (firehose_body(), {**HEADERS, "X-Amz-Firehose-Common-Attributes": "{"}, 400),
    ],
    ids=["not-json", "bad-base64", "id-mismatch", "content-type", "no-request-id", "attributes"],
)
async def test_bad_requests_are_refused_with_a_reason(
    body: bytes, headers: dict[str, str], status: int
) -> None:
    producer = Producer()
    got, answer = await post(endpoint(producer), body, headers)
    assert got == status and answer["errorMessage"]
    assert producer.sent == []


async def test_a_body_past_the_bound_is_413() -> None:
    config = service_config({"api": {"firehose_max_request_bytes": 1024}})
    big = firehose_body(records=[b"x" * 4096])
    ep = FirehoseEndpoint(config, key_required=False, producer_factory=Producer)  # type: ignore[arg-type]
    status, body = await post(ep, big, HEADERS)
    assert (status, body["errorMessage"]) == (413, "Payload too large")
