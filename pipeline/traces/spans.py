"""X-Ray segment documents -> span documents in Data Prepper's ``otel-v1-apm-span`` format.

OpenSearch Dashboards' Trace Analytics reads that format, so that is what a
segment becomes: one span per segment and one per (nested) subsegment. The
mapping follows the OpenTelemetry collector's X-Ray receiver (ids, kind,
times, HTTP, AWS, SQL, causes as ``exception`` events) with two deliberate
differences, both for X-Ray users:

- ``status.code`` is 2 (error) when the segment says so itself (``error``,
  ``fault`` or ``throttle``), not only from an HTTP status or a cause, and
  the three flags are kept as ``aws.xray.*`` attributes, because X-Ray's
  edge statistics (:mod:`pipeline.traces.service_map`) count them apart;
- attribute values are strings, as the span template maps every attribute
  to a keyword; ``metadata`` is one JSON text per namespace (as the receiver
  writes it), capped in size, so an application's metadata never explodes
  the index mapping.

Attribute keys are written with ``@`` for ``.`` (``span.attributes.http@method``),
Data Prepper's convention that keeps ``http`` from being both a value and an
object. The ``traceGroup`` fields are filled here only when the trace's root
is in the same document; :mod:`pipeline.traces.processor` fills the rest.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import orjson

from pipeline.errors import TraceError
from pipeline.trace_ids import is_span_id, otel_trace_id

__all__ = [
    "KIND_CLIENT",
    "KIND_INTERNAL",
    "KIND_SERVER",
    "MAX_METADATA_CHARS",
    "rfc3339_nanos",
    "spans_from_segment",
    "trace_group_fields",
]

KIND_SERVER = "SPAN_KIND_SERVER"
KIND_CLIENT = "SPAN_KIND_CLIENT"
KIND_INTERNAL = "SPAN_KIND_INTERNAL"
STATUS_UNSET = 0
STATUS_ERROR = 2
NAMESPACES = ("aws", "remote")
#: a metadata value longer than this (as JSON) is cut, and says so
MAX_METADATA_CHARS = 2048
#: how deep subsegments may nest; a segment is at most 64 kB, so this is only a guard
MAX_DEPTH = 64

# segment origin -> OpenTelemetry's cloud.platform
_PLATFORMS = {
    "AWS::EC2::Instance": "aws_ec2",
    "AWS::ECS::Container": "aws_ecs",
    "AWS::ECS::EC2": "aws_ecs",
    "AWS::ECS::Fargate": "aws_ecs",
    "AWS::EKS::Container": "aws_eks",
    "AWS::ElasticBeanstalk::Environment": "aws_elastic_beanstalk",
    "AWS::Lambda::Function": "aws_lambda",
    "AWS::Lambda": "aws_lambda",
    "AWS::AppRunner::Service": "aws_app_runner",
}


def spans_from_segment(document: str | bytes | dict[str, Any]) -> list[dict[str, Any]]:
    """The span documents of one segment document and all its nested subsegments, the
    segment's own first; ``TraceError`` with the reason for anything invalid.

    A document of ``type: "subsegment"`` (sent on its own) is one span whose parent is its
    ``parent_id``; its ``serviceName`` is its own name until the trace processor, which has
    seen the parent, corrects it."""
    segment = _parse(document)
    independent = segment.get("type") == "subsegment"
    trace_id = _trace_id(segment)
    if independent and not isinstance(segment.get("parent_id"), str):
        raise TraceError("a subsegment sent on its own needs parent_id")
    service = _text(segment, "name", "segment")
    resource = _resource(segment, service)
    spans: list[dict[str, Any]] = []
    parent = _optional_id(segment, "parent_id", "segment")
    _flatten(segment, trace_id, parent, service, resource, not independent, spans, 0)
    root = spans[0]
    if root["parentSpanId"] == "":
        fields = trace_group_fields(root)
        for span in spans:
            span.update(fields)
    return spans


def trace_group_fields(root: Mapping[str, Any]) -> dict[str, Any]:
    """What every span of a trace takes from the trace's root span (Data Prepper's
    ``traceGroup`` and ``traceGroupFields.*``)."""
    fields: dict[str, Any] = {
        "traceGroup": root["name"],
        "traceGroupFields.statusCode": root["status.code"],
    }
    if "endTime" in root:
        fields["traceGroupFields.endTime"] = root["endTime"]
        fields["traceGroupFields.durationInNanos"] = root["durationInNanos"]
    return fields


def rfc3339_nanos(nanos: int) -> str:
    """Epoch nanoseconds as ``2016-12-01T18:00:00.010000000Z`` (UTC), what ``date_nanos``
    reads and what Data Prepper writes."""
    seconds, fraction = divmod(nanos, 1_000_000_000)
    text = _SECONDS.get(seconds)
    if text is None:
        if len(_SECONDS) > 10_000:
            _SECONDS.clear()
        text = _SECONDS[seconds] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{text}.{fraction:09d}Z"


_SECONDS: dict[int, str] = {}


# -- parsing and validation ------------------------------------------------------------------


def _parse(document: str | bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError as error:
        raise TraceError(f"segment document is not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise TraceError("segment document is not a JSON object")
    return parsed


def _trace_id(segment: Mapping[str, Any]) -> str:
    value = segment.get("trace_id")
    if value is None:
        raise TraceError("segment has no trace_id")
    if not isinstance(value, str):
        raise TraceError(f"trace_id is not a string: {value!r}")
    converted = otel_trace_id(value)
    if converted is None or not value.startswith("1-"):
        raise TraceError(f"trace_id {value!r} is not an X-Ray trace id (1-<8 hex>-<24 hex>)")
    return converted


def _text(segment: Mapping[str, Any], key: str, what: str) -> str:
    value = segment.get(key)
    if not isinstance(value, str) or not value:
        raise TraceError(f"{what} has no {key}" if value is None else f"{what} {key} is invalid")
    return value


def _span_id(segment: Mapping[str, Any], what: str) -> str:
    value = segment.get("id")
    if value is None:
        raise TraceError(f"{what} has no id")
    if not isinstance(value, str) or not is_span_id(value):
        raise TraceError(f"{what} id {value!r} is not 16 hex digits")
    return value.lower()


def _optional_id(segment: Mapping[str, Any], key: str, what: str) -> str:
    value = segment.get(key)
    if value is None:
        return ""
    if not isinstance(value, str) or not is_span_id(value):
        raise TraceError(f"{what} {key} {value!r} is not 16 hex digits")
    return value.lower()


def _seconds(segment: Mapping[str, Any], key: str, what: str) -> float | None:
    value = segment.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TraceError(f"{what} {key} is not a number: {value!r}")
    return float(value)


# -- spans -----------------------------------------------------------------------------------


def _flatten(
    segment: Mapping[str, Any],
    trace_id: str,
    parent: str,
    service: str,
    resource: dict[str, str],
    is_segment: bool,
    spans: list[dict[str, Any]],
    depth: int,
) -> None:
    if depth > MAX_DEPTH:
        raise TraceError(f"subsegments nest deeper than {MAX_DEPTH} levels")
    what = "segment" if depth == 0 else "subsegment"
    span_id = _span_id(segment, what)
    span = _span(segment, trace_id, span_id, parent, service, resource, is_segment, what)
    spans.append(span)
    children = segment.get("subsegments")
    if children is None:
        return
    if not isinstance(children, list):
        raise TraceError(f"{what} {span_id} subsegments is not a list")
    for child in children:
        if not isinstance(child, dict):
            raise TraceError(f"{what} {span_id} has a subsegment that is not an object")
        _flatten(child, trace_id, span_id, service, resource, False, spans, depth + 1)


def _span(
    segment: Mapping[str, Any],
    trace_id: str,
    span_id: str,
    parent: str,
    service: str,
    resource: dict[str, str],
    is_segment: bool,
    what: str,
) -> dict[str, Any]:
    name = _text(segment, "name", what)
    start = _seconds(segment, "start_time", what)
    if start is None:
        raise TraceError(f"{what} {span_id} has no start_time")
    end = _seconds(segment, "end_time", what)
    in_progress = segment.get("in_progress") is True
    if end is None and not in_progress:
        raise TraceError(f"{what} {span_id} has neither end_time nor in_progress")
    namespace = segment.get("namespace")
    if namespace is not None and namespace not in NAMESPACES:
        raise TraceError(f"{what} {span_id} has an unknown namespace {namespace!r}")
    attributes: dict[str, str] = {}
    http = _http(segment.get("http"), attributes)
    kind = _kind(is_segment, namespace, http)
    if namespace == "aws":
        attributes["aws.service"] = name
        attributes["rpc.system"] = "aws-api"
        attributes["rpc.service"] = name
    _aws_call(segment.get("aws"), attributes, is_segment)
    _sql(segment.get("sql"), attributes)
    _annotations(segment.get("annotations"), attributes)
    _metadata(segment.get("metadata"), attributes)
    flags = {flag: segment.get(flag) is True for flag in ("error", "fault", "throttle")}
    for flag, raised in flags.items():
        attributes[f"aws.xray.{flag}"] = "true" if raised else "false"
    if segment.get("traced") is True:
        attributes["aws.xray.traced"] = "true"
    if in_progress:
        attributes["aws.xray.inprogress"] = "true"
    if segment.get("user") is not None:
        attributes["enduser.id"] = _string(segment["user"])
    if namespace is not None:
        attributes["aws.xray.namespace"] = str(namespace)
    start_ns = _nanos(start)
    end_ns = _nanos(end) if end is not None else None
    status, message, events = _status(segment, http, flags, end_ns if end_ns else start_ns)
    span: dict[str, Any] = {
        "traceId": trace_id,
        "spanId": span_id,
        "traceState": "",
        "parentSpanId": parent,
        "name": name,
        "kind": kind,
        "startTime": rfc3339_nanos(start_ns),
    }
    if end_ns is not None:
        span["endTime"] = rfc3339_nanos(end_ns)
        span["durationInNanos"] = max(0, end_ns - start_ns)
    span["serviceName"] = service
    span["status.code"] = status
    if message:
        span["status.message"] = message
    span["events"] = events
    span["links"] = []
    span["droppedAttributesCount"] = 0
    span["droppedEventsCount"] = 0
    span["droppedLinksCount"] = 0
    for key, value in attributes.items():
        span["span.attributes." + key.replace(".", "@")] = value
    for key, value in resource.items():
        span["resource.attributes." + key.replace(".", "@")] = value
    return span


def _kind(is_segment: bool, namespace: object, http: Mapping[str, Any]) -> str:
    if is_segment:
        return KIND_SERVER
    if namespace is not None:
        return KIND_CLIENT
    if "client_ip" in http:
        return KIND_SERVER
    return KIND_INTERNAL


def _http(raw: object, attributes: dict[str, str]) -> dict[str, Any]:
    """``http.request`` and ``http.response`` as attributes; returns the request fields and
    the status for the status and kind rules."""
    if not isinstance(raw, dict):
        return {}
    seen: dict[str, Any] = {}
    request = raw.get("request")
    if isinstance(request, dict):
        for key, attribute in (
            ("method", "http.method"),
            ("url", "http.url"),
            ("user_agent", "http.user_agent"),
            ("client_ip", "http.client_ip"),
        ):
            value = request.get(key)
            if value is not None:
                attributes[attribute] = _string(value)
                seen[key] = value
        if request.get("x_forwarded_for") is True:
            attributes["aws.xray.x_forwarded_for"] = "true"
        if request.get("traced") is True:
            attributes["aws.xray.traced"] = "true"
            seen["traced"] = True
    response = raw.get("response")
    if isinstance(response, dict):
        status = response.get("status")
        if isinstance(status, int) and not isinstance(status, bool):
            attributes["http.status_code"] = str(status)
            seen["status"] = status
        length = response.get("content_length")
        if length is not None:
            attributes["http.response_content_length"] = _string(length)
    return seen


def _status(
    segment: Mapping[str, Any],
    http: Mapping[str, Any],
    flags: Mapping[str, bool],
    event_ns: int,
) -> tuple[int, str, list[dict[str, Any]]]:
    """The status code and message, and the cause's exceptions as ``exception`` events."""
    status = STATUS_UNSET
    code = http.get("status")
    if isinstance(code, int) and not 100 <= code <= 399:
        status = STATUS_ERROR
    if any(flags.values()):
        status = STATUS_ERROR
    message = ""
    events: list[dict[str, Any]] = []
    cause = segment.get("cause")
    if cause is not None and not isinstance(cause, str | dict):
        raise TraceError(f"cause is neither an exception id nor an object: {cause!r}")
    if isinstance(cause, str) and cause:
        status, message = STATUS_ERROR, cause  # the id of an exception recorded elsewhere
    elif isinstance(cause, dict):
        status = STATUS_ERROR
        exceptions = cause.get("exceptions")
        if isinstance(exceptions, list):
            for exception in exceptions:
                if isinstance(exception, dict):
                    events.append(_exception_event(exception, event_ns))
                    if not message and isinstance(exception.get("message"), str):
                        message = exception["message"]
    return status, message, events


def _exception_event(exception: Mapping[str, Any], event_ns: int) -> dict[str, Any]:
    kind = exception.get("type")
    message = exception.get("message")
    attributes: dict[str, str] = {}
    if kind is not None:
        attributes["exception.type"] = _string(kind)
    if message is not None:
        attributes["exception.message"] = _string(message)
    stack = _stacktrace(exception)
    if stack:
        attributes["exception.stacktrace"] = stack
    for key in ("id", "remote", "truncated", "skipped", "cause"):
        if exception.get(key) is not None:
            attributes[f"aws.xray.exception.{key}"] = _string(exception[key])
    return {
        "name": "exception",
        "time": rfc3339_nanos(event_ns),
        "attributes": attributes,
        "droppedAttributesCount": 0,
    }


def _stacktrace(exception: Mapping[str, Any]) -> str:
    """Java-like text: ``Type: message`` then ``\\tat label(path:line)`` per frame."""
    frames = exception.get("stack")
    if not isinstance(frames, list) or not frames:
        return ""
    head = ": ".join(
        _string(exception[key]) for key in ("type", "message") if exception.get(key) is not None
    )
    lines = [head]
    for frame in frames:
        if isinstance(frame, dict):
            label = _string(frame.get("label", ""))
            path = _string(frame.get("path", ""))
            line = frame.get("line")
            where = f"{path}:{line}" if line is not None else path
            lines.append(f"\tat {label}({where})")
    return "\n".join(lines)


def _aws_call(raw: object, attributes: dict[str, str], is_segment: bool) -> None:
    """A subsegment's AWS SDK call fields (the rest of a segment's ``aws`` is its resource)."""
    if not isinstance(raw, dict):
        return
    if raw.get("account_id") is not None:
        attributes["aws.account_id"] = _string(raw["account_id"])
    if is_segment:
        return
    for key in ("operation", "region", "request_id", "table_name", "queue_url"):
        value = raw.get(key)
        if value is not None:
            attributes[f"aws.{key}"] = _string(value)
    if raw.get("retries") is not None:
        attributes["aws.xray.retries"] = _string(raw["retries"])
    names = raw.get("table_names")
    if isinstance(names, list):
        attributes["aws.table_names"] = ",".join(_string(name) for name in names)


def _sql(raw: object, attributes: dict[str, str]) -> None:
    if not isinstance(raw, dict):
        return
    url = raw.get("url")
    if isinstance(url, str):
        # jdbc:postgresql://host:5432/ebdb?x=y -> the connection (up to the port) and the database
        scheme, separator, rest = url.partition("://")
        if separator:
            host, _, path = rest.partition("/")
            attributes["db.connection_string"] = f"{scheme}://{host}"
            name = path.split("?", 1)[0]
            if name:
                attributes["db.name"] = name
        else:
            attributes["db.connection_string"] = url
    for key, attribute in (
        ("sanitized_query", "db.statement"),
        ("database_type", "db.system"),
        ("user", "db.user"),
        ("connection_string", "db.connection_string"),
        ("database_version", "aws.xray.sql.database_version"),
        ("driver_version", "aws.xray.sql.driver_version"),
        ("preparation", "aws.xray.sql.preparation"),
    ):
        value = raw.get(key)
        if value is not None:
            attributes[attribute] = _string(value)


def _annotations(raw: object, attributes: dict[str, str]) -> None:
    if isinstance(raw, dict):
        for key, value in raw.items():
            attributes[f"annotations.{key}"] = _string(value)


def _metadata(raw: object, attributes: dict[str, str]) -> None:
    """One attribute per namespace holding its JSON, as the receiver writes it: an
    application's metadata keys never become index fields."""
    if not isinstance(raw, dict):
        return
    for namespace, values in raw.items():
        attributes[f"aws.xray.metadata.{namespace}"] = _json_text(values)


def _resource(segment: Mapping[str, Any], service: str) -> dict[str, str]:
    """The segment's service and where it ran, shared by all its spans."""
    # the receiver's rule: a segment that says nothing of AWS may have run anywhere
    provider = "aws" if isinstance(segment.get("aws"), dict) else "unknown"
    resource = {"service.name": service, "cloud.provider": provider}
    origin = segment.get("origin")
    if isinstance(origin, str):
        resource["aws.xray.origin"] = origin
        platform = _PLATFORMS.get(origin)
        if platform is not None:
            resource["cloud.platform"] = platform
    described = segment.get("service")
    if isinstance(described, dict) and described.get("version") is not None:
        resource["service.version"] = _string(described["version"])
    if segment.get("resource_arn") is not None:
        resource["aws.xray.resource_arn"] = _string(segment["resource_arn"])
    aws = segment.get("aws")
    if segment.get("type") != "subsegment" and isinstance(aws, dict):
        _aws_resource(aws, resource)
    return resource


def _aws_resource(aws: Mapping[str, Any], resource: dict[str, str]) -> None:
    if aws.get("account_id") is not None:
        resource["cloud.account.id"] = _string(aws["account_id"])
    sections: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
        (
            "ec2",
            (
                ("instance_id", "host.id"),
                ("instance_size", "host.type"),
                ("ami_id", "host.image.id"),
                ("availability_zone", "cloud.availability_zone"),
            ),
        ),
        (
            "ecs",
            (
                ("container", "container.name"),
                ("container_id", "container.id"),
                ("availability_zone", "cloud.availability_zone"),
            ),
        ),
        (
            "eks",
            (
                ("cluster_name", "k8s.cluster.name"),
                ("pod", "k8s.pod.name"),
                ("container_id", "container.id"),
            ),
        ),
        (
            "elastic_beanstalk",
            (
                ("environment_name", "service.namespace"),
                ("version_label", "service.version"),
                ("deployment_id", "service.instance.id"),
            ),
        ),
        (
            "xray",
            (
                ("sdk", "telemetry.sdk.name"),
                ("sdk_version", "telemetry.sdk.version"),
                ("auto_instrumentation", "telemetry.auto.version"),
            ),
        ),
    )
    for section, keys in sections:
        block = aws.get(section)
        if isinstance(block, dict):
            for key, attribute in keys:
                if block.get(key) is not None:
                    resource[attribute] = _string(block[key])
    sdk = resource.get("telemetry.sdk.name", "")
    if sdk.startswith("X-Ray for "):
        resource["telemetry.sdk.language"] = sdk.removeprefix("X-Ray for ")
    logs = aws.get("cloudwatch_logs")
    if isinstance(logs, list):
        groups = [entry.get("log_group") for entry in logs if isinstance(entry, dict)]
        arns = [entry.get("arn") for entry in logs if isinstance(entry, dict)]
        if any(isinstance(group, str) for group in groups):
            resource["aws.log.group.names"] = ",".join(g for g in groups if isinstance(g, str))
        if any(isinstance(arn, str) for arn in arns):
            resource["aws.log.group.arns"] = ",".join(a for a in arns if isinstance(a, str))


def _string(value: object) -> str:
    """An attribute value as the keyword it is indexed as (JSON's spelling of bools)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int | float):
        return orjson.dumps(value).decode()
    return _json_text(value)


def _json_text(value: object) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = orjson.dumps(value).decode()
        except TypeError:  # out-of-range integers: orjson writes 64 bits only
            text = str(value)
    if len(text) > MAX_METADATA_CHARS:
        return text[:MAX_METADATA_CHARS] + "...(truncated)"
    return text


def _nanos(seconds: float) -> int:
    """Epoch seconds -> nanoseconds, rounded to the microsecond: X-Ray times are doubles of
    millisecond (some SDKs microsecond) precision, and ``1478293361.271 * 1e9`` is not
    ``...271000000`` in binary floating point."""
    return round(seconds * 1e6) * 1000
