"""Log events as OpenSearch documents, shaped as the AWS console's stream-to-Elasticsearch
function (the LogsToElasticsearch blueprint) writes them, so existing ``cwl-*`` dashboards work.

The blueprint's source: extracted fields (numeric ones as numbers, a JSON
object inside a value also under ``$<key>``), else the JSON object that starts
at the message's first ``{``, then ``@id``, ``@timestamp``, ``@message``,
``@owner``, ``@log_group`` and ``@log_stream``. On top of it, ``lambda.*``
for platform lines, and ``traceId`` and ``spanId`` where the log names its
X-Ray trace, in the form the span documents have, so Dashboards goes from a
span to its logs and back (see :func:`build_source` for where they come from).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from pipeline.lambda_platform import (
    End,
    FunctionRef,
    PlatformEvent,
    Report,
    RuntimeDone,
    RuntimeFault,
    Start,
    TaskTimedOut,
)
from pipeline.patterns.message import ParsedMessage
from pipeline.trace_ids import TraceContext, find_trace_header, is_span_id, trace_context

__all__ = [
    "IndexAction",
    "JsonFields",
    "build_source",
    "day_index",
    "encode_action",
    "js_number",
]

JsonFields = Literal["merge", "nest", "off"]
_JS_WHITESPACE = " \t\n\r\v\f\u00a0\ufeff\u2028\u2029"
_MAX_SAFE_INTEGER = 2**53
_DAY_MS = 86_400_000
# JavaScript's Number() grammar for decimals and for 0x / 0o / 0b integers (no sign allowed there).
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_PREFIXED = re.compile(r"0(?:[xX][0-9a-fA-F]+|[oO][0-7]+|[bB][01]+)")
_BASES = {"x": 16, "o": 8, "b": 2}
_NUMBER_STARTS = frozenset("+-.0123456789")


# Read-only by convention, not frozen: built once per event, and a frozen dataclass's
# generated __init__ costs ~1 us where this one costs ~0.07 us compiled (bench core).
@dataclass(slots=True, init=False)
class IndexAction:
    """One ``index`` bulk action: the document ``source`` under ``_id`` in ``index``."""

    index: str
    id: str
    source: dict[str, Any]

    def __init__(self, index: str, id: str, source: dict[str, Any]) -> None:
        self.index = index
        self.id = id
        self.source = source


def day_index(prefix: str, timestamp_ms: int) -> str:
    """``<prefix>-YYYY.MM.DD`` of the event's UTC day, as the blueprint names its indices."""
    key = (prefix, timestamp_ms // _DAY_MS)
    name = _INDEX_NAMES.get(key)
    if name is None:
        if len(_INDEX_NAMES) >= _MAX_CACHED:
            _INDEX_NAMES.clear()
        day = datetime.fromtimestamp(key[1] * 86_400, UTC)
        name = _INDEX_NAMES[key] = f"{prefix}-{day:%Y.%m.%d}"
    return name


def iso_timestamp(timestamp_ms: int) -> str:
    """JavaScript's ``Date.toISOString``: milliseconds and ``Z``."""
    second, millisecond = divmod(timestamp_ms, 1000)
    text = _SECOND_TEXTS.get(second)
    if text is None:
        if len(_SECOND_TEXTS) >= _MAX_CACHED:
            _SECOND_TEXTS.clear()
        text = _SECOND_TEXTS[second] = f"{datetime.fromtimestamp(second, UTC):%Y-%m-%dT%H:%M:%S}"
    return text + _MILLISECOND_TEXTS[millisecond]


# Events of a batch share days and mostly seconds: each is formatted once. Plain dicts,
# emptied when full, cost less per event than functools.lru_cache's bookkeeping.
_MAX_CACHED = 4096
_INDEX_NAMES: dict[tuple[str, int], str] = {}
_SECOND_TEXTS: dict[int, str] = {}
_MILLISECOND_TEXTS = [f".{millisecond:03d}Z" for millisecond in range(1000)]


def encode_action(action: IndexAction) -> bytes:
    """The action's two NDJSON lines for ``_bulk``; raises on what cannot be JSON (a lone
    surrogate). The ``index`` line of each index name is encoded once."""
    head = _ACTION_HEADS.get(action.index)
    if head is None:
        if len(_ACTION_HEADS) >= _MAX_CACHED:
            _ACTION_HEADS.clear()
        head = _ACTION_HEADS[action.index] = orjson.dumps({"index": {"_index": action.index}})[:-2]
    return b"".join(
        (head, b',"_id":', orjson.dumps(action.id), b"}}\n", orjson.dumps(action.source), b"\n")
    )


_ACTION_HEADS: dict[str, bytes] = {}


def build_source(
    *,
    event_id: str,
    timestamp: int,
    message: str,
    owner: str,
    log_group: str,
    log_stream: str,
    extracted_fields: dict[str, str] | None,
    json_fields: JsonFields = "merge",
    json_key: str = "json",
    platform: PlatformEvent | None = None,
    function: FunctionRef | None = None,
    view: ParsedMessage | None = None,
) -> dict[str, Any]:
    """The document for one event (see the module docstring).

    ``view``, the message as patterns saw it, lends its JSON parse (the
    document takes a shallow copy), so a JSON line is parsed once.

    ``traceId`` (32 lower-case hex) and ``spanId`` (16 hex) come from the
    first of these that names a trace, so the most specific source wins:

    1. the platform event: REPORT's ``XRAY TraceId``/``SegmentId`` line,
       ``platform.*`` records' ``tracing`` (span: ``tracing.spanId``, else
       ``Parent``); the platform knows which invocation the line is about;
    2. a trace field of the message's JSON: ``xray_trace_id`` (Powertools),
       ``traceId`` or ``trace_id`` (aws-embedded-metrics, OpenTelemetry-style
       loggers), X-Ray or 32-hex, with ``spanId``/``span_id`` when present;
       the logger wrote them for the line itself;
    3. ``record.tracing`` of a JSON platform record the core did not type
       (Lambda metrics off, a group not known as a function's), then an
       ``X-Amzn-Trace-Id``/``_X_AMZN_TRACE_ID`` value printed anywhere
       (``Root=``, span from ``Parent=``): a header may be one the code
       passed on rather than its own, so it comes last.

    A ``traceId`` or ``spanId`` the document already has at the top (merged
    JSON, extracted fields) is the application's and is never overwritten;
    then neither is added, so the pair never mixes two sources. A log that
    names no trace gets neither field. An unsampled trace still links: its
    id correlates the logs of one request even where no span was recorded.
    With ``json_fields: off`` the JSON is read for this only when the
    message contains ``trace``. Cost when nothing names a trace: one
    substring test on the message, and for JSON messages a few dict
    lookups on the parse the document already made.
    """
    found: dict[str, Any] | None = None
    if extracted_fields is not None:
        source = _from_extracted(extracted_fields)
    elif json_fields == "off":
        source = {}
    else:
        if view is not None and view.text is message:
            found = view.leading_json_object()
        else:
            found = _json_from_first_brace(message)
        if found is None:
            source = {}
        elif json_fields == "nest":
            source = {json_key: found}
        else:
            source = dict(found)
    source["@id"] = event_id
    source["@timestamp"] = iso_timestamp(timestamp)
    source["@message"] = message
    source["@owner"] = owner
    source["@log_group"] = log_group
    source["@log_stream"] = log_stream
    lambda_fields = _lambda_fields(platform, function)
    if lambda_fields:
        source["lambda"] = lambda_fields
    if json_fields == "off" and extracted_fields is None and "trace" in message:
        found = _json_object(message, view)
    trace = _trace(platform, found, message, view)
    if trace is not None and "traceId" not in source and "spanId" not in source:
        source["traceId"] = trace.trace_id
        if trace.span_id is not None:
            source["spanId"] = trace.span_id
    return source


def _from_extracted(fields: dict[str, str]) -> dict[str, Any]:
    source: dict[str, Any] = {}
    for key, value in fields.items():
        if not value:  # the blueprint skips falsy values
            continue
        number = js_number(value)
        if number is not None:
            source[key] = number
            continue
        found = _json_from_first_brace(value)
        if found is not None:
            source[f"${key}"] = found
        source[key] = value
    return source


def js_number(text: str) -> int | float | None:
    """The blueprint's ``isNumeric`` then ``1 * value``: JavaScript's number conversion.

    Whitespace around is allowed, so are ``0x``/``0o``/``0b`` integers and
    exponents; ``Infinity``, ``NaN`` and Python-only spellings (``1_000``,
    ``inf``) are not numbers. Integral results come back as ints, as JSON
    writes them without a fraction.
    """
    if len(text) < 16 and text.isdigit() and text.isascii():
        return int(text)  # the common case (status codes, sizes): exact below 2**53
    body = text.strip(_JS_WHITESPACE)
    if not body or body[0] not in _NUMBER_STARTS or body.count(".") > 1:
        return None  # request ids, addresses, words: no grammar needed to say no
    if _DECIMAL.fullmatch(body):
        value = float(body)
    elif _PREFIXED.fullmatch(body):
        value = float(int(body[2:], _BASES[body[1].lower()]))
    else:
        return None
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER:
        return int(value)
    return value


def _json_from_first_brace(text: str) -> dict[str, Any] | None:
    start = text.find("{")
    if start < 0:
        return None
    try:
        value = orjson.loads(text[start:])
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _lambda_fields(
    platform: PlatformEvent | None, function: FunctionRef | None
) -> dict[str, Any] | None:
    if platform is None:
        return None
    fields: dict[str, Any]
    if isinstance(platform, Report):
        fields = {
            "type": "report",
            "request_id": platform.request_id,
            "duration_ms": platform.duration_ms,
        }
        _put(fields, "billed_duration_ms", platform.billed_duration_ms)
        _put(fields, "memory_size_mb", platform.memory_size_mb)
        _put(fields, "max_memory_used_mb", platform.max_memory_used_mb)
        _put(fields, "init_duration_ms", platform.init_duration_ms)
        _put(fields, "restore_duration_ms", platform.restore_duration_ms)
        _put(fields, "billed_restore_duration_ms", platform.billed_restore_duration_ms)
        fields["status"] = platform.status
        _put(fields, "error_type", platform.error_type)
        fields["cold_start"] = platform.cold_start
    elif isinstance(platform, Start):
        fields = {"type": "start", "request_id": platform.request_id}
        _put(fields, "version", platform.version)
    elif isinstance(platform, End):
        fields = {"type": "end", "request_id": platform.request_id}
    elif isinstance(platform, TaskTimedOut):
        fields = {
            "type": "timeout",
            "request_id": platform.request_id,
            "timeout_seconds": platform.timeout_seconds,
        }
    elif isinstance(platform, RuntimeFault):
        fields = {"type": "fault"}
        _put(fields, "request_id", platform.request_id)
        _put(fields, "error_type", platform.error_type)
    else:
        return None
    if function is not None:
        fields["function"] = function.name
        _put(fields, "function_version", function.version)
    return fields


def _put(fields: dict[str, Any], key: str, value: object) -> None:
    """Only known values go in, as the fields of a line that lacks them are left out."""
    if value is not None:
        fields[key] = value


# JSON fields that name the line's trace, in order; the span fields go with whichever is found.
_TRACE_KEYS = ("xray_trace_id", "traceId", "trace_id")
_SPAN_KEYS = ("spanId", "span_id")


def _trace(
    platform: PlatformEvent | None,
    document: dict[str, Any] | None,
    message: str,
    view: ParsedMessage | None,
) -> TraceContext | None:
    """The log's trace, by the precedence :func:`build_source` gives."""
    # most lines have no platform event: then not even the isinstance test runs
    if (
        platform is not None
        and isinstance(platform, (Report, Start, RuntimeDone))
        and platform.xray_trace_id is not None
    ):
        found = trace_context(platform.xray_trace_id, platform.xray_segment_id)
        if found is not None:
            return found
    if document is not None:
        for key in _TRACE_KEYS:
            value = document.get(key)
            if value is not None:
                found = trace_context(value, _span_field(document))
                if found is not None:
                    return found
    if "Root=1-" not in message:
        return None
    record = (document if document is not None else _json_object(message, view) or {}).get("record")
    tracing = record.get("tracing") if isinstance(record, dict) else None
    if isinstance(tracing, dict):
        value = tracing.get("value")
        header = find_trace_header(value) if isinstance(value, str) else None
        if header is not None:
            span = tracing.get("spanId")
            if isinstance(span, str) and is_span_id(span):
                return TraceContext(header.trace_id, span.lower())
            return header
    return find_trace_header(message)


def _span_field(document: dict[str, Any]) -> object:
    for key in _SPAN_KEYS:
        value = document.get(key)
        if value is not None:
            return value
    return None


def _json_object(message: str, view: ParsedMessage | None) -> dict[str, Any] | None:
    """The message's leading JSON object, through the view's parse when it has one."""
    if view is not None and view.text is message:
        return view.leading_json_object()
    return _json_from_first_brace(message)
