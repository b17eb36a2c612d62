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
    "trace_context",
]

_XRAY_TRACE_ID = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})\Z")
_SPAN_ID = re.compile(r"[0-9a-fA-F]{16}\Z")
_OTEL_TRACE_ID = re.compile(r"[0-9a-f]{32}\Z")
_ROOT = "Root=1-"
#: the id after ``Root=`` in an ``X-Amzn-Trace-Id`` / ``_X_AMZN_TRACE_ID`` value
_ROOT_ID = re.compile(r"1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})(?![0-9a-fA-F])")
_HEADER_PARENT = re.compile(r"(?<![A-Za-z])Parent=([0-9a-fA-F]{16})(?![0-9a-fA-F])")
#: the header's fields after ``Root=``: up to a blank, a quote or a comma, where ``;`` may be
#: followed by blanks (OpenTelemetry's propagators trim them, so some printers write them).
#: The two alternatives start differently, so matching is linear in the length.
_HEADER_REST = re.compile(r"""(?:[^\s"',;]|;[ \t]*)*""")
_DELIMITERS = frozenset(" \t\r\n\"',")
#: how far before ``Root=`` the header's other fields (``Self=``, ``Parent=``) are looked for:
#: a whole header is under 200 characters, and the bound keeps a long line linear
_MAX_BEFORE_ROOT = 256


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


def trace_context(trace_id: object, span_id: object = None) -> TraceContext | None:
    """The context of ids read from a log (a JSON field, a platform record), checked and in
    OpenTelemetry's form; None when ``trace_id`` is not a trace id. A ``span_id`` that is not
    16 hex digits is left out rather than failing the trace id: the trace still links."""
    if not isinstance(trace_id, str):
        return None
    otel = otel_trace_id(trace_id)
    if otel is None:
        return None
    span = span_id.lower() if isinstance(span_id, str) and is_span_id(span_id) else None
    return TraceContext(otel, span)


def find_trace_header(text: str) -> TraceContext | None:
    """The trace of an ``X-Amzn-Trace-Id``-style header printed anywhere in ``text``
    (``Root=1-...;Parent=...``); None when there is none. ``Parent`` is the caller's
    segment or subsegment: the span that the logged work belongs to.

    Linear in the length of ``text``: each ``Root=1-`` is found with ``str.find`` and
    its header bounded by delimiters, since a search that let an unbounded run of
    characters precede ``Root=`` took seconds on a 32 KB line without a valid id.
    """
    at = text.find(_ROOT)
    while at >= 0:
        root = _ROOT_ID.match(text, at + 5)
        if root is not None:
            start = _header_start(text, at)
            rest = _HEADER_REST.match(text, root.end())
            end = root.end() if rest is None else rest.end()
            parent = _HEADER_PARENT.search(text, start, at) or _HEADER_PARENT.search(
                text, root.end(), end
            )
            span = parent.group(1).lower() if parent is not None else None
            return TraceContext((root.group(1) + root.group(2)).lower(), span)
        at = text.find(_ROOT, at + len(_ROOT))
    return None


def _header_start(text: str, root_at: int) -> int:
    """Where the header holding the ``Root=`` at ``root_at`` starts: after the nearest
    delimiter before it, reading ``;`` followed by blanks as inside the header."""
    limit = max(0, root_at - _MAX_BEFORE_ROOT)
    start = root_at
    while start > limit:
        char = text[start - 1]
        if char not in _DELIMITERS:
            start -= 1
            continue
        if char != " " and char != "\t":
            break
        blank = start - 1
        while blank > limit and text[blank - 1] in " \t":
            blank -= 1
        if blank > limit and text[blank - 1] == ";":
            start = blank
            continue
        break
    return start
