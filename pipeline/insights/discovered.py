"""The fields Insights discovers in a log event, computed from a document as the pipeline
indexes it (``@timestamp``, ``@message``, ``@log_group``, ``@log_stream``, ``@owner``).

Computed from the message rather than read from the document's own extra
fields, so the answer is the same whatever ``json_fields`` or ``lambda``
settings indexed it: the fields of a JSON message (the first JSON object of a
Lambda line) with dotted paths and array indices, and for Lambda REPORT lines
Insights' ``@type``, ``@requestId``, ``@duration``... with memory in bytes
(1 MB = 1,000,000, as AWS's console query divides by 1000 twice).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import orjson

from pipeline.lambda_platform import parse_report

__all__ = ["Timestamp", "discovered_fields", "parse_timestamp"]

#: JSON fields taken from one event at most (Insights documents 200 to 1000)
MAX_JSON_FIELDS = 1000


class Timestamp(int):
    """Epoch milliseconds that print as Insights prints a time (``2019-07-02 04:35:21.530``)."""

    def text(self) -> str:
        seconds, millis = divmod(int(self), 1000)
        return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}"


def parse_timestamp(text: str) -> int | None:
    """``2026-11-25T16:25:35.484Z`` (the documents' form) -> epoch milliseconds."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return round(moment.timestamp() * 1000)


def discovered_fields(document: dict[str, Any]) -> dict[str, Any]:
    """One event as Insights sees it: system fields, then JSON fields, then Lambda's."""
    fields: dict[str, Any] = {}
    message = document.get("@message")
    if not isinstance(message, str):
        message = "" if message is None else str(message)
    raw_time = document.get("@timestamp")
    millis = parse_timestamp(raw_time) if isinstance(raw_time, str) else None
    if isinstance(raw_time, int | float) and not isinstance(raw_time, bool):
        millis = int(raw_time)
    if millis is not None:
        fields["@timestamp"] = Timestamp(millis)
    fields["@message"] = message
    if document.get("@log_stream") is not None:
        fields["@logStream"] = document["@log_stream"]
    group = document.get("@log_group")
    if group is not None:
        owner = document.get("@owner")
        fields["@log"] = f"{owner}:{group}" if owner else str(group)
    if document.get("@id") is not None:
        fields["@ptr"] = document["@id"]
    json_object = _json_object(message)
    if json_object is not None:
        _flatten(json_object, "", fields)
    if message.startswith("REPORT RequestId:"):
        _report(message, fields)
    return fields


def _json_object(message: str) -> dict[str, Any] | None:
    start = message.find("{")
    if start < 0:
        return None
    text = message[start:].rstrip()
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            parsed, _ = json.JSONDecoder().raw_decode(message, start)
        except ValueError:
            return None
    return parsed if isinstance(parsed, dict) else None


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if len(out) >= MAX_JSON_FIELDS:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            # a key of its own starting with @ is shown with another (@@weird): the system
            # fields keep their names
            name = (
                f"{prefix}.{key}"
                if prefix
                else (f"@{key}" if str(key).startswith("@") else str(key))
            )
            _flatten(item, name, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(item, f"{prefix}.{index}" if prefix else str(index), out)
    elif prefix:
        out.setdefault(prefix, value)


def _report(message: str, fields: dict[str, Any]) -> None:
    report = parse_report(message)
    if report is None:
        return
    fields["@type"] = "REPORT"
    fields["@requestId"] = report.request_id
    fields["@duration"] = report.duration_ms
    if report.billed_duration_ms is not None:
        fields["@billedDuration"] = report.billed_duration_ms
    if report.memory_size_mb is not None:
        fields["@memorySize"] = report.memory_size_mb * 1_000_000
    if report.max_memory_used_mb is not None:
        fields["@maxMemoryUsed"] = report.max_memory_used_mb * 1_000_000
    if report.init_duration_ms is not None:
        fields["@initDuration"] = report.init_duration_ms
    if report.xray_trace_id is not None:
        fields["@xrayTraceId"] = report.xray_trace_id
    if report.xray_segment_id is not None:
        fields["@xraySegmentId"] = report.xray_segment_id
