"""X-Ray trace ids in OpenTelemetry's form, and the trace context a log line may carry.

X-Ray writes a trace id as ``1-5759e988-bd862e3fe1be46a994272793`` (version,
8 hex digits of epoch seconds, 24 random hex digits); OpenTelemetry and
OpenSearch Trace Analytics use the same 128 bits as 32 lower-case hex digits.
Spans and log documents both go through :func:`otel_trace_id`, so a span and
the logs of its request share one ``traceId`` and Dashboards can go from one
to the other.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = [
    "TraceContext",
    "find_trace_header",
    "is_span_id",
    "otel_trace_id",
]

_XRAY_TRACE_ID = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})\Z")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}\Z")
_OTEL_TRACE_ID = re.compile(r"[0-9a-f]{32}\Z")
#: ``Root=1-...;Parent=...;Sampled=1`` as in ``X-Amzn-Trace-Id`` and ``_X_AMZN_TRACE_ID``;
#: the fields come in any order, ``Self=`` and ``Lineage=`` may sit between them
_HEADER_ROOT = re.compile(r"Root=1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})(?![0-9a-fA-F])")
_HEADER_PARENT = re.compile(r"(?<![A-Za-z])Parent=([0-9a-fA-F]{16})(?![0-9a-fA-F])")
#: the whole header value: the fields around ``Root=``, up to a space, a quote or a comma
_HEADER = re.compile(r"""[^\s"',]*Root=1-[0-9a-fA-F]{8}-[0-9a-fA-F]{24}[^\s"',]*""")


class TraceContext(NamedTuple):
    """A log line's trace: the 32-hex ``trace_id`` and, when the line names it, ``span_id``."""

    trace_id: str
    span_id: str | None


def otel_trace_id(xray_trace_id: str) -> str | None:
    """``1-5759e988-bd862e3fe1be46a994272793`` -> ``5759e988bd862e3fe1be46a994272793``;
    None for anything else. A 32-hex id (already OpenTelemetry's form) is returned
    lower-cased, so either form in a log line links."""
    found = _XRAY_TRACE_ID.match(xray_trace_id)
    if found is not None:
        return (found.group(1) + found.group(2)).lower()
    lowered = xray_trace_id.lower()
    if _OTEL_TRACE_ID.match(lowered):
        return lowered
    return None


def is_span_id(value: str) -> bool:
    """16 hex digits: an X-Ray segment id, which is also the span id."""
    return _SPAN_ID.match(value) is not None


def find_trace_header(text: str) -> TraceContext | None:
    """The trace of an ``X-Amzn-Trace-Id``-style header printed anywhere in ``text``
    (``Root=1-...;Parent=...``); None when there is none. ``Parent`` is the caller's
    segment or subsegment: the span that the logged work belongs to."""
    if "Root=1-" not in text:
        return None
    header = _HEADER.search(text)
    if header is None:
        return None
    root = _HEADER_ROOT.search(header.group(0))
    if root is None:
        return None
    parent = _HEADER_PARENT.search(header.group(0))
    span = parent.group(1).lower() if parent is not None else None
    return TraceContext((root.group(1) + root.group(2)).lower(), span)
