"""The JSON 1.1 protocol: targets, AWS's error shapes and statuses, bounds, no tracebacks."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from opensearchpy.exceptions import ConnectionError as StoreConnectionError

from consumers.api import protocol
from consumers.api.errors import ApiError, malformed_query
from consumers.api.params import Params
from consumers.api.protocol import handle_api
from tests.unit.api_doubles import context, document, request

DOCS = [document(1, 1000, "hello")]


async def call(
    target: str | None, body: bytes = b"{}", *, max_body: int = 1 << 20, ctx: Any = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if target is not None:
        headers["X-Amz-Target"] = target
    answer = await handle_api(
        request(body, headers), ctx or context(DOCS), max_body=max_body, secret_for=None
    )
    assert answer.content_type == "application/x-amz-json-1.1"
    assert answer.headers["x-amzn-RequestId"]
    assert isinstance(answer.body, bytes)
    return answer.status, orjson.loads(answer.body)


async def test_a_known_operation_answers_its_shape() -> None:
    status, body = await call("Logs_20140328.DescribeLogGroups")
    assert status == 200
    assert [g["logGroupName"] for g in body["logGroups"]] == ["/g"]


@pytest.mark.parametrize(
    "target",
    ["Logs_20140328.PutLogEvents", "Logs_20140328.Nope", "Kinesis_20131202.ListStreams", "", None],
)
async def test_anything_else_is_an_unknown_operation(target: str | None) -> None:
    status, body = await call(target)
    assert status == 400
    assert body["__type"] == "UnknownOperationException"


async def test_a_body_past_the_bound_is_413_unread() -> None:
    status, body = await call("Logs_20140328.DescribeLogGroups", b"{}" + b" " * 5000, max_body=1024)
    assert (status, body["__type"]) == (413, "RequestEntityTooLargeException")


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'"text"'])
async def test_a_body_that_is_not_a_json_object_is_a_serialization_error(body: bytes) -> None:
    status, answer = await call("Logs_20140328.DescribeLogGroups", body)
    assert (status, answer["__type"]) == (400, "SerializationException")


async def test_a_parameter_out_of_range_is_awss_validation_message() -> None:
    status, body = await call("Logs_20140328.DescribeLogGroups", b'{"limit": 0}')
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    assert body["message"] == (
        "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
        "Member must have value greater than or equal to 1"
    )


async def test_the_store_away_is_service_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    async def down(ctx: Any, params: Params) -> dict[str, Any]:
        raise StoreConnectionError("N/A", "refused", None)

    monkeypatch.setitem(protocol.OPERATIONS, "DescribeLogGroups", down)  # type: ignore[arg-type]
    status, body = await call("Logs_20140328.DescribeLogGroups")
    assert (status, body["__type"]) == (500, "ServiceUnavailableException")


async def test_a_bug_is_a_500_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(ctx: Any, params: Params) -> dict[str, Any]:
        raise KeyError("secret internals")

    monkeypatch.setitem(protocol.OPERATIONS, "DescribeLogGroups", broken)  # type: ignore[arg-type]
    status, body = await call("Logs_20140328.DescribeLogGroups")
    assert status == 500
    assert "Traceback" not in orjson.dumps(body).decode()
    assert "secret internals" not in body["message"]


def test_malformed_query_carries_where_the_error_is() -> None:
    body = malformed_query("expected ')'", 14).body()
    assert body["__type"] == "MalformedQueryException"
    assert body["queryCompileError"]["location"] == {"startCharOffset": 14, "endCharOffset": 15}


def test_an_api_error_is_the_json_1_1_error_shape() -> None:
    assert ApiError("ResourceNotFoundException", "gone").body() == {
        "__type": "ResourceNotFoundException",
        "message": "gone",
    }
