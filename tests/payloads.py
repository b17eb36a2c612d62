"""Builders of subscription deliveries for tests: one DATA_MESSAGE from plain messages."""

from __future__ import annotations

import gzip

import orjson

ACCOUNT = "123456789012"
STREAM = "2026/11/23/[$LATEST]0123456789abcdef0123456789abcdef"


def data_message(
    messages: list[str],
    *,
    log_group: str = "/aws/lambda/orders",
    log_stream: str = STREAM,
    start_ms: int = 1_795_000_000_000,
) -> bytes:
    """A gzipped DATA_MESSAGE holding ``messages``, one millisecond apart."""
    document = {
        "messageType": "DATA_MESSAGE",
        "owner": ACCOUNT,
        "logGroup": log_group,
        "logStream": log_stream,
        "subscriptionFilters": ["all"],
        "logEvents": [
            {"id": str(36_000_000_000_000_000 + i), "timestamp": start_ms + i, "message": m}
            for i, m in enumerate(messages)
        ],
    }
    return gzip.compress(orjson.dumps(document))
