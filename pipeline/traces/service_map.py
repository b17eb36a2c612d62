"""Service-map documents as Data Prepper writes them, and X-Ray's edge statistics.

Dashboards draws its service map from ``otel-v1-apm-service-map`` relationship
documents and computes every number from the spans; it stores no counts.
X-Ray's console colours each edge by what its client saw (ok, error 4xx,
throttle 429, fault 5xx) and shows its response-time distribution, so those
are kept apart as :class:`EdgeSample` values for Prometheus.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EDGE_OUTCOMES",
    "EdgeSample",
    "Endpoint",
    "edge_outcome",
    "hash_id",
    "isolated",
    "relationships",
]

#: X-Ray's EdgeStatistics: OkCount, ErrorStatistics (other 4xx, ThrottleCount) and FaultStatistics
EDGE_OUTCOMES = ("ok", "error", "throttle", "fault")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """``target`` or ``destination`` of a relationship: an operation of a service."""

    resource: str  # the span name (the operation)
    domain: str  # the service


@dataclass(frozen=True, slots=True)
class EdgeSample:
    """One client call along an edge of the service graph, as X-Ray counts it."""

    client: str  # the calling service
    server: str  # the called service, or the inferred node (DynamoDB, api.example.com)
    server_type: str  # AWS::DynamoDB, remote, or the called segment's origin
    outcome: str  # one of EDGE_OUTCOMES
    seconds: float  # the client's view of the response time


def hash_id(
    service: str,
    kind: str | None,
    trace_group: str | None,
    target: Endpoint | None,
    destination: Endpoint | None,
) -> str:
    """Data Prepper's ``hashId``: base64 of the MD5 of the relationship's fields joined with
    commas; an absent endpoint is an empty text, a missing scalar Java's ``null``.

    Checked against the two documents of Data Prepper's documentation (unit tests)."""
    parts = [
        service,
        "null" if kind is None else kind,
        "null" if trace_group is None else trace_group,
        "" if target is None else f"{target.resource},{target.domain}",
        "" if destination is None else f"{destination.resource},{destination.domain}",
    ]
    digest = hashlib.md5(",".join(parts).encode("utf-8"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


def _document(
    service: str,
    kind: str | None,
    trace_group: str | None,
    target: Endpoint | None,
    destination: Endpoint | None,
) -> dict[str, Any]:
    return {
        "serviceName": service,
        "kind": kind,
        "destination": _endpoint(destination),
        "target": _endpoint(target),
        "traceGroupName": trace_group,
        "hashId": hash_id(service, kind, trace_group, target, destination),
    }


def _endpoint(endpoint: Endpoint | None) -> dict[str, str] | None:
    if endpoint is None:
        return None
    return {"resource": endpoint.resource, "domain": endpoint.domain}


def relationships(
    parent_service: str,
    parent_kind: str,
    child_service: str,
    child_kind: str,
    child_name: str,
    trace_group: str | None,
) -> list[dict[str, Any]]:
    """The two documents of a parent span calling a child span of another service: the
    parent's ``destination`` and the child's ``target``, both the child's operation."""
    operation = Endpoint(child_name, child_service)
    return [
        _document(parent_service, parent_kind, trace_group, None, operation),
        _document(child_service, child_kind, trace_group, operation, None),
    ]


def isolated(service: str, trace_group: str | None) -> dict[str, Any]:
    """A service on the map whatever its edges (Data Prepper's document with no endpoints)."""
    return _document(service, None, trace_group, None, None)


def edge_outcome(error: bool, fault: bool, throttle: bool, http_status: int | None) -> str:
    """X-Ray's bucket for one call: the client's flags, else its HTTP status (429 throttle,
    other 4xx error, 5xx fault)."""
    if fault:
        return "fault"
    if throttle:
        return "throttle"
    if error:
        return "error"
    if http_status is not None:
        if http_status == 429:
            return "throttle"
        if 400 <= http_status < 500:
            return "error"
        if http_status >= 500:
            return "fault"
    return "ok"
