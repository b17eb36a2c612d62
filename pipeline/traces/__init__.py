"""X-Ray segments as OpenSearch Trace Analytics spans (Data Prepper's ``otel-v1-apm-span``).

Stable API: :func:`spans_from_segment`, :func:`split_daemon_packet`, :class:`TraceError`.
"""

from __future__ import annotations

from pipeline.errors import TraceError
from pipeline.traces.packets import (
    MAX_DATAGRAM_BYTES,
    segment_documents,
    split_daemon_packet,
    trace_key,
)
from pipeline.traces.spans import spans_from_segment

__all__ = [
    "MAX_DATAGRAM_BYTES",
    "TraceError",
    "segment_documents",
    "spans_from_segment",
    "split_daemon_packet",
    "trace_key",
]
