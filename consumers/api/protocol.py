"""The CloudWatch Logs JSON 1.1 protocol: ``POST /``, ``X-Amz-Target: Logs_20140328.<Op>``.

One handler reads the bounded body, verifies SigV4 when credentials are
configured, finds the operation, and answers its JSON, or AWS's error shape
with AWS's status. Errors are classified once here: :class:`ApiError` is the
answer as raised; the store unreachable or refusing is
ServiceUnavailableException (500, which SDKs retry); anything else is logged
for the operator with its traceback and answered as the same 500, so a client
never sees a traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from aiohttp import web
from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from consumers.api import events, filters, groups, query_operations
from consumers.api.context import ApiContext
from consumers.api.errors import (
    ApiError,
    malformed_query,
    service_unavailable,
    unknown_operation,
)
from consumers.api.params import Params
from consumers.api.sigv4 import verify
from consumers.runtime.errors import describe
from pipeline.errors import InsightsError

__all__ = [
    "CONTENT_TYPE",
    "OPERATIONS",
    "TARGET_PREFIX",
    "BodyTooLarge",
    "handle_api",
    "read_bounded",
]

log = logging.getLogger("cwlpipe")

TARGET_PREFIX = "Logs_20140328."
CONTENT_TYPE = "application/x-amz-json-1.1"

Operation = Callable[[ApiContext, Params], Awaitable[dict[str, Any]]]
OPERATIONS: Mapping[str, Operation] = {
    "DescribeLogGroups": groups.describe_log_groups,
    "DescribeLogStreams": groups.describe_log_streams,
    "FilterLogEvents": events.filter_log_events,
    "GetLogEvents": events.get_log_events,
    "StartQuery": query_operations.start_query,
    "GetQueryResults": query_operations.get_query_results,
    "StopQuery": query_operations.stop_query,
    "DescribeQueries": query_operations.describe_queries,
    "GetLogRecord": query_operations.get_log_record,
    "TestMetricFilter": filters.test_metric_filter,
    "DescribeMetricFilters": filters.describe_metric_filters,
    "DescribeSubscriptionFilters": filters.describe_subscription_filters,
}


class BodyTooLarge(Exception):
    """A request body past the configured bound; nothing more of it was read."""


async def read_bounded(request: web.Request, limit: int) -> bytes:
    """The body (decompressed when the client compressed it), at most ``limit`` bytes.

    Read piece by piece, so a body that claims a small size, or none, and sends
    more (or inflates to more) stops at the bound instead of filling memory.
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.content.readany()
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)


def json_response(status: int, body: Mapping[str, Any], request_id: str) -> web.Response:
    return web.Response(
        status=status,
        body=orjson.dumps(body),
        headers={"Content-Type": CONTENT_TYPE, "x-amzn-RequestId": request_id},
    )


async def handle_api(
    request: web.Request,
    context: ApiContext,
    *,
    max_body: int,
    secret_for: Callable[[str], str | None] | None,
) -> web.Response:
    request_id = str(uuid.uuid4())
    target = request.headers.get("X-Amz-Target")
    try:
        try:
            body = await read_bounded(request, max_body)
        except BodyTooLarge:
            raise ApiError(
                "RequestEntityTooLargeException",
                f"Request body larger than {max_body} bytes.",
                413,
            ) from None
        if secret_for is not None:
            url = f"{request.scheme}://{request.host}{request.raw_path}"
            verify(request.method, url, request.headers, body, secret_for)
        name = target[len(TARGET_PREFIX) :] if target and target.startswith(TARGET_PREFIX) else ""
        operation = OPERATIONS.get(name)
        if operation is None:
            raise unknown_operation(target)
        params = _params(body)
        answer = await operation(context, params)
        return json_response(200, answer, request_id)
    except ApiError as error:
        return json_response(error.status, error.body(), request_id)
    except (StoreConnectionError, TransportError) as error:
        log.warning("%s: the store did not answer: %s", target, describe(error))
        return json_response(
            500, service_unavailable("The store did not answer.").body(), request_id
        )
    except InsightsError as error:  # found while evaluating (an aggregate outside stats)
        return json_response(400, malformed_query(error.reason, error.position).body(), request_id)
    except Exception:
        log.exception("%s failed (request %s)", target, request_id)
        body_ = service_unavailable(f"Internal failure (request {request_id}).").body()
        return json_response(500, body_, request_id)


def _params(body: bytes) -> Params:
    try:
        data = orjson.loads(body) if body.strip() else {}
    except orjson.JSONDecodeError:
        raise ApiError("SerializationException", "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object.")
    return Params(data)
