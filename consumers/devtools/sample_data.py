"""Sample subscription deliveries the project makes itself, good and bad, stamped with a given time.

The demo and the tests need payloads that look like production (Lambda
START/END/REPORT lines, API Gateway access logs with extracted fields, a
control message, Firehose objects) and payloads that must be refused, with
current timestamps so that retention keeps what they index. Written as files
(``write_sample_files``) they are what ``cwlpipe process`` replays on a fresh
clone, with no broker.
"""

from __future__ import annotations

import base64
import gzip
import random
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["SamplePayload", "sample_payloads", "write_sample_files"]

ACCOUNT = "123456789012"


@dataclass(frozen=True, slots=True)
class SamplePayload:
    name: str
    data: bytes
    good: bool  # False: the payload must be refused with a reason


def sample_payloads(now_ms: int, *, seed: int = 7) -> list[SamplePayload]:
    """Deterministic for a given ``now_ms`` and ``seed``."""
    rng = random.Random(seed)
    lambda_doc = _lambda_document(now_ms, rng, seed=seed)
    access_doc = _access_document(now_ms, rng)
    return [
        SamplePayload("lambda.gz", _gzip(lambda_doc), True),
        SamplePayload("apigw-access.gz", _gzip(access_doc), True),
        SamplePayload("apigw-access.lambda-event.json", _lambda_event(access_doc), True),
        SamplePayload("control-message.gz", _gzip(_control_document(now_ms)), True),
        SamplePayload(
            "firehose-s3-object.gz",
            _gzip(_lambda_document(now_ms, rng, "orders")) + _gzip(_access_document(now_ms, rng)),
            True,
        ),
        SamplePayload("bad-truncated.gz", _gzip(lambda_doc)[:60], False),
        SamplePayload("bad-not-json.gz", gzip.compress(b"{this is not json"), False),
        SamplePayload(
            "bad-missing-log-events.gz",
            _gzip({"messageType": "DATA_MESSAGE", "owner": ACCOUNT, "logGroup": "/x"}),
            False,
        ),
        SamplePayload("bad-not-base64.json", b'{"awslogs": {"data": "H4sI%%%"}}', False),
        SamplePayload("bad-bomb.gz", gzip.compress(b"\0" * (20 * 1024 * 1024), 9), False),
    ]


def write_sample_files(directory: Path, now_ms: int, *, seed: int = 7) -> list[SamplePayload]:
    """One file per delivery, named for it, holding the bytes as delivered (mostly gzip)."""
    directory.mkdir(parents=True, exist_ok=True)
    payloads = sample_payloads(now_ms, seed=seed)
    for payload in payloads:
        (directory / payload.name).write_bytes(payload.data)
    return payloads


def _gzip(document: dict[str, Any]) -> bytes:
    return gzip.compress(orjson.dumps(document), 6)  # CloudWatch sends gzip level 6


def _lambda_event(document: dict[str, Any]) -> bytes:
    return orjson.dumps({"awslogs": {"data": base64.b64encode(_gzip(document)).decode()}})


def _event(now_ms: int, offset: int, message: str, rng: random.Random) -> dict[str, Any]:
    timestamp = now_ms - 60_000 + offset
    event_id = f"{timestamp:020d}{rng.getrandbits(64):036d}"[:56]
    return {"id": event_id, "timestamp": timestamp, "message": message}


def _lambda_document(
    now_ms: int, rng: random.Random, name: str = "checkout", *, seed: int = 7
) -> dict[str, Any]:
    """Six requests; ``checkout`` runs with active tracing, its REPORT lines naming the
    traces of :func:`consumers.devtools.sample_traces.sample_requests` (same ``seed``)."""
    from consumers.devtools.sample_traces import sample_requests  # it builds on this module

    traced = sample_requests(now_ms, seed=seed) if name == "checkout" else []
    lines: list[str] = []
    for index in range(6):
        request = str(uuid.UUID(int=rng.getrandbits(128)))
        duration = rng.uniform(20, 900)
        memory = rng.randint(60, 120)
        cold = index == 0
        lines.append(f"START RequestId: {request} Version: $LATEST\n")
        level = "ERROR" if index == 3 else "INFO"
        lines.append(
            orjson.dumps(
                {"level": level, "message": "handled order", "requestId": request, "ms": duration}
            ).decode()
            + "\n"
        )
        if index == 4:
            lines.append(f"2024-01-01T00:00:00.000Z {request} Task timed out after 3.00 seconds\n")
            duration = 3000.0
        lines.append(f"END RequestId: {request}\n")
        report = (
            f"REPORT RequestId: {request}\tDuration: {duration:.2f} ms\t"
            f"Billed Duration: {int(duration) + 1} ms\tMemory Size: 128 MB\t"
            f"Max Memory Used: {memory} MB\t"
        )
        if cold:
            report += "Init Duration: 245.18 ms\t"
        if traced:
            trace = traced[index]
            report += (
                f"\nXRAY TraceId: {trace.trace_id}\tSegmentId: {trace.segment_id}\tSampled: true\t"
            )
        lines.append(report + "\n")
    return {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": f"/aws/lambda/{name}",
        "logStream": f"2024/01/01/[$LATEST]{rng.getrandbits(128):032x}",
        "subscriptionFilters": ["cwlpipe"],
        "logEvents": [_event(now_ms, i, line, rng) for i, line in enumerate(lines)],
    }


def _access_document(now_ms: int, rng: random.Random) -> dict[str, Any]:
    events = []
    for index in range(8):
        ip = f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        status = rng.choice([200, 200, 200, 404, 500])
        size = rng.randint(100, 5000)
        request = f"GET /items/{rng.randint(1, 99)} HTTP/1.1"
        message = f'{ip} - - [01/Jan/2024:00:00:{index:02d} +0000] "{request}" {status} {size}'
        event = _event(now_ms, index, message, rng)
        event["extractedFields"] = {
            "host": ip,
            "ident": "-",
            "authuser": "-",
            "date": f"01/Jan/2024:00:00:{index:02d} +0000",
            "request": request,
            "status": str(status),
            "bytes": str(size),
        }
        events.append(event)
    return {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": "API-Gateway-Access-Logs_shop/prod",
        "logStream": f"{rng.getrandbits(128):032x}",
        "subscriptionFilters": ["cwlpipe-access"],
        "logEvents": events,
    }


def _control_document(now_ms: int) -> dict[str, Any]:
    return {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": now_ms,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Kafka.",
            }
        ],
    }
