"""Kinesis Data Firehose's HTTP endpoint destination at ``POST /firehose``.

Firehose sends ``{"requestId", "timestamp", "records": [{"data": base64}]}``
(gzip when the stream says so) with ``X-Amz-Firehose-Request-Id``,
``X-Amz-Firehose-Access-Key`` and ``X-Amz-Firehose-Common-Attributes``, and
counts a delivery done only on a 200 whose body echoes the request id with a
timestamp. So each record's data (for CloudWatch Logs: a gzip subscription
delivery, which ``cwlpipe run`` decodes) is published to the log topic with
``acks=all`` and only then is 200 answered; on any failure the answer is a
non-200 with ``errorMessage`` and Firehose retries the whole request (writes
downstream are idempotent by event id, so a retry after a partial publish
duplicates nothing in the store). The request id, source ARN and common
attributes travel as Kafka headers.

The access key, when configured, is compared in constant time. Requests must
be ``application/json`` with a request id, as Firehose's are: a browser page
cannot send those cross-site without a CORS preflight this server never
grants, so a web page cannot publish through a loopback endpoint.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hmac
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaProducer

from consumers.api.protocol import BodyTooLarge, read_bounded
from consumers.config.service import ServiceConfig
from consumers.kafka.source import make_producer, started
from consumers.runtime.errors import describe

__all__ = ["FirehoseEndpoint"]

log = logging.getLogger("cwlpipe")

REQUEST_ID = "X-Amz-Firehose-Request-Id"
ACCESS_KEY = "X-Amz-Firehose-Access-Key"
COMMON_ATTRIBUTES = "X-Amz-Firehose-Common-Attributes"
SOURCE_ARN = "X-Amz-Firehose-Source-Arn"


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FirehoseEndpoint:
    def __init__(
        self,
        config: ServiceConfig,
        *,
        key_required: bool,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        self._config = config
        self._api = config.api
        self._key = config.api.firehose_access_key
        self._key_required = key_required
        self._topic = config.kafka.input_topics[0]
        self._factory = producer_factory or (lambda: make_producer(config.kafka))
        self._producer: AIOKafkaProducer | None = None
        self._starting = asyncio.Lock()

    async def handle(self, request: web.Request) -> web.Response:
        request_id = request.headers.get(REQUEST_ID, "")
        try:
            records, headers = await self._read(request, request_id)
            await asyncio.wait_for(self._publish(records, headers), self._api.firehose_timeout_s)
        except _Refused as refused:
            log.warning("firehose request %s refused: %s", request_id or "-", refused.message)
            return _answer(refused.status, request_id, refused.message)
        except TimeoutError:
            message = f"Kafka did not acknowledge within {self._api.firehose_timeout_s:g} s"
            log.warning("firehose request %s: %s", request_id, message)
            return _answer(503, request_id, message)
        except Exception as error:  # the broker is away or refused: Firehose retries
            log.warning("firehose request %s not published: %s", request_id, describe(error))
            await self._drop_producer()
            return _answer(503, request_id, f"not published to Kafka: {describe(error)}")
        return _answer(200, request_id)

    async def _read(
        self, request: web.Request, request_id: str
    ) -> tuple[list[bytes], list[tuple[str, bytes]]]:
        if not request_id:
            raise _Refused(400, f"the {REQUEST_ID} header is missing")
        if request.content_type != "application/json":
            raise _Refused(415, "the body must be application/json")
        given = request.headers.get(ACCESS_KEY)
        if self._key is not None:
            if given is None or not hmac.compare_digest(
                given.encode("utf-8"), self._key.value.encode("utf-8")
            ):
                raise _Refused(401, "the access key is missing or wrong")
        elif self._key_required:
            raise _Refused(401, "api.firehose_access_key must be set to accept deliveries here")
        try:
            body = await read_bounded(request, self._api.firehose_max_request_bytes)
        except BodyTooLarge:
            raise _Refused(413, "Payload too large") from None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise _Refused(400, "the body is not JSON") from None
        records = document.get("records") if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise _Refused(400, "the body has no records list")
        if document.get("requestId", request_id) != request_id:
            raise _Refused(400, "the body's requestId is not the header's")
        values: list[bytes] = []
        for index, record in enumerate(records):
            data = record.get("data") if isinstance(record, dict) else None
            if not isinstance(data, str):
                raise _Refused(400, f"records[{index}].data is missing")
            try:
                values.append(base64.b64decode(data, validate=True))
            except (binascii.Error, ValueError):
                raise _Refused(400, f"records[{index}].data is not base64") from None
        headers = [("firehose-request-id", request_id.encode("utf-8"))]
        source = request.headers.get(SOURCE_ARN)
        if source:
            headers.append(("firehose-source-arn", source.encode("utf-8")))
        common = request.headers.get(COMMON_ATTRIBUTES)
        if common:
            headers.append(("firehose-common-attributes", _common_attributes(common)))
        return values, headers

    async def _publish(self, values: list[bytes], headers: list[tuple[str, bytes]]) -> None:
        if not values:
            return
        producer = await self._ready_producer()
        sent = [await producer.send(self._topic, value, headers=headers) for value in values]
        await asyncio.gather(*sent)

    async def _ready_producer(self) -> AIOKafkaProducer:
        async with self._starting:
            if self._producer is None:
                self._producer = await started(self._factory())
            return self._producer

    async def _drop_producer(self) -> None:
        """After a failure the next delivery starts a fresh producer (a new bootstrap)."""
        async with self._starting:
            producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                await producer.stop()

    async def close(self) -> None:
        await self._drop_producer()


def _common_attributes(text: str) -> bytes:
    """The attributes as sent (``{"commonAttributes": {...}}``), checked to be that shape."""
    try:
        value: Any = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _Refused(400, f"{COMMON_ATTRIBUTES} is not JSON") from None
    attributes = value.get("commonAttributes") if isinstance(value, dict) else None
    if not isinstance(attributes, dict):
        raise _Refused(400, f"{COMMON_ATTRIBUTES} has no commonAttributes object")
    return orjson.dumps(attributes)


def _answer(status: int, request_id: str, error: str | None = None) -> web.Response:
    body: dict[str, Any] = {"requestId": request_id, "timestamp": int(time.time() * 1000)}
    if error is not None:
        body["errorMessage"] = error
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
