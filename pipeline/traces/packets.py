"""What arrives on a trace topic, as segment documents: a datagram, a batch, one segment.

The X-Ray daemon protocol is a UDP datagram of a JSON header line and a
segment document (``{"format": "json", "version": 1}\\n{...}``); the SDKs
send exactly that. A producer may also publish one segment document, a JSON
array of them, or a ``PutTraceSegments`` request body
(``{"TraceSegmentDocuments": ["{...}", ...]}``, each document a string).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from pipeline.errors import TraceError

__all__ = ["MAX_DATAGRAM_BYTES", "segment_documents", "split_daemon_packet", "trace_key"]

_TRACE_ID = re.compile(rb'"trace_id"\s*:\s*"([^"\\]{1,64})"')

#: the X-Ray daemon's receive buffer; a segment document is at most 64 kB
MAX_DATAGRAM_BYTES = 64 * 1024


def split_daemon_packet(data: bytes) -> bytes:
    """The segment document of one X-Ray daemon datagram; ``TraceError`` when the header
    line is missing, is not JSON, or is not ``{"format": "json", "version": 1}``, or when
    nothing follows it."""
    newline = data.find(b"\n")
    if newline < 0:
        raise TraceError(
            'daemon datagram has no header line: expected {"format": "json", "version": 1} '
            "and a newline"
        )
    head, body = data[:newline], data[newline + 1 :]
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as error:
        raise TraceError(f"daemon datagram header is not JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") != "json" or header.get("version") != 1:
        shown = head[:80].decode("utf-8", "replace")
        raise TraceError(
            f'daemon datagram header is not {{"format": "json", "version": 1}}: {shown}'
        )
    if not body.strip():
        raise TraceError("daemon datagram has a header and no segment document")
    return body


def segment_documents(value: bytes) -> list[dict[str, Any]]:
    """Every segment document of one record value, parsed; ``TraceError`` for a value that
    is none of the accepted shapes (the whole record is then a dead letter)."""
    text = value.lstrip()
    if text.startswith(b"{") and b"\n" in text:
        first_line = text[: text.find(b"\n")]
        if b'"format"' in first_line:  # a daemon datagram published as is
            text = split_daemon_packet(text).lstrip()
    try:
        parsed = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise TraceError(f"segment document is not valid JSON: {error}") from None
    if isinstance(parsed, list):
        return [_document(item, f"item {index} of the array") for index, item in enumerate(parsed)]
    if isinstance(parsed, dict) and "TraceSegmentDocuments" in parsed:
        documents = parsed["TraceSegmentDocuments"]
        if not isinstance(documents, list):
            raise TraceError("TraceSegmentDocuments is not a list")
        return [
            _document(_parse_string(item, index), f"TraceSegmentDocuments[{index}]")
            for index, item in enumerate(documents)
        ]
    return [_document(parsed, "the record")]


def _parse_string(item: object, index: int) -> object:
    if not isinstance(item, str):
        raise TraceError(f"TraceSegmentDocuments[{index}] is not a string")
    try:
        return orjson.loads(item)
    except orjson.JSONDecodeError as error:
        raise TraceError(f"TraceSegmentDocuments[{index}] is not valid JSON: {error}") from None


def _document(item: object, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise TraceError(f"{where} is not a segment document (a JSON object)")
    return item


def trace_key(value: bytes) -> bytes | None:
    """The trace id of a record value (the first ``trace_id`` in it), as a Kafka key: every
    segment of a trace then lands on one partition, in order, so one consumer sees an
    in-progress segment before the complete one and a trace's root beside its spans. None
    when the value names no trace (it is then published unkeyed)."""
    found = _TRACE_ID.search(value)
    return found.group(1) if found is not None else None
