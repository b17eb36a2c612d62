"""Sample X-Ray trace records the project makes itself, matching the sample Lambda logs.

Each request of the sample ``checkout`` function (see
:mod:`consumers.devtools.sample_data`) is one trace: the ``shop-api`` API
stage calls the function (a traced call), which calls DynamoDB (an AWS
SDK call) and ``payments.example.com`` (an uninstrumented HTTP API, one call
throttled). The function's REPORT line names the same trace and segment
(``XRAY TraceId: ... SegmentId: ...``), so logs and spans of one request share
a ``traceId``. The records use every shape the trace topic accepts (daemon
datagrams, ``PutTraceSegments`` bodies, arrays, an in-progress segment then
the complete one, a subsegment sent on its own) and one that must be refused.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import orjson

from consumers.devtools.sample_data import SamplePayload

__all__ = ["SampleRequest", "sample_requests", "sample_trace_records"]

DAEMON_HEADER = b'{"format": "json", "version": 1}\n'


@dataclass(frozen=True, slots=True)
class SampleRequest:
    """One request of the sample function: its trace and the function segment's id."""

    trace_id: str  # X-Ray's form, 1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy
    segment_id: str
    start_s: float
    failed: bool


def sample_requests(now_ms: int, count: int = 6, *, seed: int = 7) -> list[SampleRequest]:
    """Deterministic for a given ``now_ms`` and ``seed``."""
    rng = random.Random(f"requests-{seed}")  # not the records' generator: ids never repeat
    requests = []
    for index in range(count):
        start = (now_ms - 60_000 + index * 1000) / 1000
        trace_id = f"1-{int(start):08x}-{rng.getrandbits(96):024x}"
        requests.append(SampleRequest(trace_id, f"{rng.getrandbits(64):016x}", start, index == 3))
    return requests


def sample_trace_records(now_ms: int, *, seed: int = 7) -> list[SamplePayload]:
    """The trace topic's sample records; ``good`` False for the one that must be refused."""
    rng = random.Random(f"records-{seed}")
    records: list[SamplePayload] = []
    for index, request in enumerate(sample_requests(now_ms, seed=seed)):
        api, function, alone = _request(request, rng, throttled=index == 2)
        if index == 0:  # the SDK streams an in-progress segment first, then the whole one
            started = {k: v for k, v in function.items() if k not in ("end_time", "subsegments")}
            started["in_progress"] = True
            records.append(
                SamplePayload("in-progress", DAEMON_HEADER + orjson.dumps(started), True)
            )
        records.append(SamplePayload(f"api-{index}", DAEMON_HEADER + orjson.dumps(api), True))
        body = {"TraceSegmentDocuments": [orjson.dumps(function).decode()]}
        records.append(SamplePayload(f"function-{index}", orjson.dumps(body), True))
        records.append(SamplePayload(f"subsegment-{index}", orjson.dumps([alone]), True))
    records.append(
        SamplePayload(
            "bad-no-trace-id",
            DAEMON_HEADER + b'{"name": "orphan", "id": "0123456789abcdef", "start_time": 1}',
            False,
        )
    )
    return records


def _request(
    request: SampleRequest, rng: random.Random, *, throttled: bool
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    start = request.start_s
    status = 502 if request.failed else 200
    call_id = f"{rng.getrandbits(64):016x}"
    duration = rng.uniform(0.05, 0.4)
    call = {
        "id": call_id,
        "name": "checkout",
        "namespace": "remote",
        "start_time": start + 0.002,
        "end_time": start + 0.004 + duration,
        "http": {
            "request": {"method": "POST", "url": "https://lambda/checkout", "traced": True},
            "response": {"status": status},
        },
        "fault": request.failed,
    }
    api = {
        "name": "shop-api/prod",
        "id": f"{rng.getrandbits(64):016x}",
        "trace_id": request.trace_id,
        "start_time": start,
        "end_time": start + 0.006 + duration,
        "origin": "AWS::ApiGateway::Stage",
        "http": {
            "request": {"method": "POST", "url": "https://shop.example.com/prod/orders"},
            "response": {"status": status},
        },
        "fault": request.failed,
        "annotations": {"stage": "prod"},
        "aws": {"account_id": "123456789012"},
        "subsegments": [call],
    }
    table = {
        "id": f"{rng.getrandbits(64):016x}",
        "name": "DynamoDB",
        "namespace": "aws",
        "start_time": start + 0.01,
        "end_time": start + 0.01 + duration / 4,
        "aws": {"operation": "PutItem", "table_name": "orders", "region": "eu-west-1"},
        "http": {"response": {"status": 200}},
    }
    payment_status = 429 if throttled else 200
    payment = {
        "id": f"{rng.getrandbits(64):016x}",
        "name": "payments.example.com",
        "namespace": "remote",
        "start_time": start + 0.02 + duration / 4,
        "end_time": start + 0.002 + duration,
        "http": {
            "request": {"method": "POST", "url": "https://payments.example.com/charge"},
            "response": {"status": payment_status},
        },
        "error": throttled,
        "throttle": throttled,
    }
    function: dict[str, Any] = {
        "name": "checkout",
        "id": request.segment_id,
        "trace_id": request.trace_id,
        "parent_id": call_id,
        "start_time": start + 0.003,
        "end_time": start + 0.003 + duration,
        "origin": "AWS::Lambda::Function",
        "fault": request.failed,
        "aws": {
            "account_id": "123456789012",
            "cloudwatch_logs": [{"log_group": "/aws/lambda/checkout"}],
        },
        "subsegments": [table, payment],
    }
    if request.failed:
        function["cause"] = {
            "working_directory": "/var/task",
            "exceptions": [
                {
                    "id": f"{rng.getrandbits(64):016x}",
                    "type": "PaymentDeclined",
                    "message": "card declined",
                    "stack": [{"path": "handler.py", "line": 42, "label": "charge"}],
                }
            ],
        }
    alone = {
        "type": "subsegment",
        "id": f"{rng.getrandbits(64):016x}",
        "trace_id": request.trace_id,
        "parent_id": request.segment_id,
        "name": "render-receipt",
        "start_time": start + 0.003 + duration * 0.9,
        "end_time": start + 0.003 + duration * 0.95,
        "annotations": {"template": "receipt-v2"},
    }
    return api, function, alone
