"""Lambda platform lines, in the text format and the JSON (Advanced Logging Controls) format.

Fields are read by name, never by position: AWS has added fields over the
years (Init Duration, Restore Duration, Billed Restore Duration, Status, Error
Type), producers order them differently, and tabs, runs of spaces and a space
before a tab all occur in real captures.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from typing import Any

from pipeline.patterns.base import as_parsed
from pipeline.patterns.message import ParsedMessage

__all__ = [
    "AppLog",
    "End",
    "ExtensionState",
    "FunctionRef",
    "InitReport",
    "InitStart",
    "LogsDropped",
    "OutOfMemory",
    "PlatformEvent",
    "Report",
    "RestoreReport",
    "RuntimeDone",
    "RuntimeFault",
    "Start",
    "TaskTimedOut",
    "function_from_log",
    "parse_platform_line",
    "parse_report",
]

# "Name: value" pairs; the leading blank keeps "Duration" from matching inside "Init Duration".
_FIELD = re.compile(
    r"(?:^|\s)(RequestId|Billed Restore Duration|Restore Duration|Billed Duration|Init Duration"
    r"|Duration|Memory Size|Max Memory Used|Status|Error Type|Phase|Version|Runtime Version ARN"
    r"|Runtime Version|TraceId|SegmentId|Sampled|Name|State|Events|Types):[ \t]*(\[[^\]]*\]|\S+)"
)
_TIMED_OUT = re.compile(
    r"^(?:\S+\s+)?(?P<request>[0-9a-fA-F-]{8,})\s+"
    r"Task timed out after\s+(?P<seconds>[\d.]+)\s+seconds"
)
_FAULT = re.compile(
    r"^RequestId:\s*(?P<request>[\w-]+)\s+(?:Error:\s*(?P<error>[^\n]*)|"
    r"(?P<exited>Process exited before completing request))"
)
_REQUEST_ID = frozenset(string.ascii_letters + string.digits + "_-")
# What runtimes print when they run out of memory (Go, Java, Node.js, Python, Ruby, .NET, kill).
OUT_OF_MEMORY_MARKERS = (
    ("go", "fatal error: runtime: out of memory"),
    ("java", "java.lang.OutOfMemoryError"),
    ("nodejs", "JavaScript heap out of memory"),
    ("ruby", "failed to allocate memory (NoMemoryError)"),
    ("dotnet", "OutOfMemoryException"),
    ("kill", "Runtime exited with error: signal: killed"),
    ("python", "MemoryError"),
)


# Read-only by convention, not frozen: built once per event, and a frozen dataclass's
# generated __init__ costs ~1 us where this one costs ~0.07 us compiled (bench core).
@dataclass(slots=True, init=False)
class Report:
    """One invocation's REPORT: durations in ms, memory in MB; absent fields are None."""

    request_id: str
    duration_ms: float
    billed_duration_ms: float | None = None
    memory_size_mb: int | None = None
    max_memory_used_mb: int | None = None
    init_duration_ms: float | None = None
    restore_duration_ms: float | None = None
    billed_restore_duration_ms: float | None = None
    status: str = "success"
    error_type: str | None = None
    xray_trace_id: str | None = None
    xray_segment_id: str | None = None
    xray_sampled: bool | None = None

    def __init__(
        self,
        request_id: str,
        duration_ms: float,
        billed_duration_ms: float | None = None,
        memory_size_mb: int | None = None,
        max_memory_used_mb: int | None = None,
        init_duration_ms: float | None = None,
        restore_duration_ms: float | None = None,
        billed_restore_duration_ms: float | None = None,
        status: str = "success",
        error_type: str | None = None,
        xray_trace_id: str | None = None,
        xray_segment_id: str | None = None,
        xray_sampled: bool | None = None,
    ) -> None:
        self.request_id = request_id
        self.duration_ms = duration_ms
        self.billed_duration_ms = billed_duration_ms
        self.memory_size_mb = memory_size_mb
        self.max_memory_used_mb = max_memory_used_mb
        self.init_duration_ms = init_duration_ms
        self.restore_duration_ms = restore_duration_ms
        self.billed_restore_duration_ms = billed_restore_duration_ms
        self.status = status
        self.error_type = error_type
        self.xray_trace_id = xray_trace_id
        self.xray_segment_id = xray_segment_id
        self.xray_sampled = xray_sampled

    @property
    def cold_start(self) -> bool:
        return self.init_duration_ms is not None or self.restore_duration_ms is not None


@dataclass(slots=True, init=False)
class Start:
    """START, or ``platform.start`` whose ``tracing`` gives the X-Ray ids (as REPORT's do)."""

    request_id: str
    version: str | None = None
    xray_trace_id: str | None = None
    xray_segment_id: str | None = None

    def __init__(
        self,
        request_id: str,
        version: str | None = None,
        xray_trace_id: str | None = None,
        xray_segment_id: str | None = None,
    ) -> None:
        self.request_id = request_id
        self.version = version
        self.xray_trace_id = xray_trace_id
        self.xray_segment_id = xray_segment_id


@dataclass(slots=True, init=False)
class End:
    request_id: str

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class InitStart:
    """INIT_START, RESTORE_START and their JSON records (``restore`` tells which)."""

    runtime_version: str | None
    runtime_version_arn: str | None
    initialization_type: str | None = None
    phase: str | None = None
    restore: bool = False


@dataclass(frozen=True, slots=True)
class InitReport:
    duration_ms: float | None
    phase: str | None
    status: str
    error_type: str | None = None
    initialization_type: str | None = None


@dataclass(frozen=True, slots=True)
class RestoreReport:
    duration_ms: float | None
    status: str
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class RuntimeDone:
    """JSON ``platform.runtimeDone`` and its init and restore twins."""

    request_id: str | None
    status: str
    error_type: str | None = None
    duration_ms: float | None = None
    produced_bytes: int | None = None
    phase: str = "invoke"  # "init" or "restore" for the other two
    xray_trace_id: str | None = None
    xray_segment_id: str | None = None


@dataclass(frozen=True, slots=True)
class ExtensionState:
    """EXTENSION / TELEMETRY lines, ``platform.extension``, ``platform.telemetrySubscription``."""

    name: str
    state: str
    items: tuple[str, ...]  # the events an extension registered for, or the telemetry types
    telemetry: bool = False
    error_type: str | None = None


@dataclass(frozen=True, slots=True)
class LogsDropped:
    reason: str
    dropped_records: int
    dropped_bytes: int


@dataclass(frozen=True, slots=True)
class TaskTimedOut:
    """The old-style ``<time> <request id> Task timed out after N seconds`` line."""

    request_id: str
    timeout_seconds: float


@dataclass(frozen=True, slots=True)
class RuntimeFault:
    """``RequestId: ... Error: <message>\\n<Error.Type>`` (or the pre-2018 ``Process exited``)."""

    request_id: str
    message: str
    error_type: str | None


@dataclass(frozen=True, slots=True)
class OutOfMemory:
    """A runtime's own out-of-memory message inside an application log line."""

    runtime: str
    request_id: str | None = None


@dataclass(slots=True, init=False)
class AppLog:
    """An application record of the JSON log format: ``level``, ``message``, ``requestId``."""

    level: str
    message: Any
    request_id: str | None

    def __init__(self, level: str, message: Any, request_id: str | None) -> None:
        self.level = level
        self.message = message
        self.request_id = request_id


PlatformEvent = (
    Report
    | Start
    | End
    | InitStart
    | InitReport
    | RestoreReport
    | RuntimeDone
    | ExtensionState
    | LogsDropped
    | TaskTimedOut
    | RuntimeFault
    | OutOfMemory
    | AppLog
)


def parse_report(message: str | ParsedMessage) -> Report | None:
    """The REPORT of a text REPORT line or a JSON ``platform.report`` record; None otherwise."""
    text = message.text if isinstance(message, ParsedMessage) else message
    if text.startswith("REPORT "):
        return _text_report(text)
    if text.startswith("{") and "platform.report" in text:
        event = _json_event(as_parsed(message))
        return event if isinstance(event, Report) else None
    return None


def parse_platform_line(message: str | ParsedMessage) -> PlatformEvent | None:
    """A typed event for any platform line (REPORT included), OOM message or JSON app record."""
    text = message.text if isinstance(message, ParsedMessage) else message
    head = text[:16]
    if head.startswith("{"):
        return _json_event(as_parsed(message))
    if head.startswith("REPORT "):
        return _text_report(text)
    if head.startswith(("START ", "END ")):
        return _start_or_end(text)
    if head.startswith(("INIT_", "RESTORE_", "EXTENSION", "TELEMETRY")):
        return _phase_line(text)
    if head.startswith("RequestId:"):
        return _fault(text)
    if "Task timed out after" in text:
        found = _TIMED_OUT.search(text)
        if found:
            return TaskTimedOut(found["request"], float(found["seconds"]))
    return _out_of_memory(text)


# -- text lines ---------------------------------------------------------------------------


def _fields(text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in _FIELD.findall(text):
        fields.setdefault(name, value)
    return fields


# The names a REPORT line carries and the units after their values: a line made only of
# these, tab-separated, is read by splitting (what the regex finds, at a fraction of the
# cost); anything else goes to the regex.
_REPORT_NAMES = frozenset(
    (
        "Duration",
        "Billed Duration",
        "Memory Size",
        "Max Memory Used",
        "Init Duration",
        "Restore Duration",
        "Billed Restore Duration",
        "Status",
        "Error Type",
    )
)
_REPORT_UNITS = frozenset(("", "ms", "MB"))
_REPORT_HEAD = "REPORT RequestId: "


def _report_fields(line: str) -> dict[str, str]:
    """The fields of a REPORT line's first line (the same as :func:`_fields` gives)."""
    parts = line.split("\t")
    head = parts[0]
    if not head.startswith(_REPORT_HEAD):
        return _fields(line)
    request_id = head[len(_REPORT_HEAD) :]
    if not request_id or not _REQUEST_ID.issuperset(request_id):
        return _fields(line)
    fields = {"RequestId": request_id}
    for part in parts[1:]:
        if not part:
            continue
        name, colon, rest = part.partition(": ")
        value, _, unit = rest.partition(" ")
        if (
            not colon
            or name not in _REPORT_NAMES
            or not value
            or value[0] == "["
            or unit not in _REPORT_UNITS
            or not value.isprintable()
            or " " in value
        ):
            return _fields(line)
        fields.setdefault(name, value)
    return fields


def _start_or_end_fields(text: str) -> dict[str, str]:
    """``START RequestId: <id> Version: <v>`` / ``END RequestId: <id>`` by splitting, as
    :func:`_fields` reads them; any other shape goes to the regex."""
    words = text.split()
    count = len(words)
    if (count == 3 or (count == 5 and words[3] == "Version:")) and words[1] == "RequestId:":
        request_id = words[2]
        if _REQUEST_ID.issuperset(request_id):
            if count == 3:
                return {"RequestId": request_id}
            version = words[4]
            if version[0] != "[" and not version.endswith(":"):
                return {"RequestId": request_id, "Version": version}
    return _fields(text)


def _number(fields: dict[str, str], name: str) -> float | None:
    value = fields.get(name)
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _integer(fields: dict[str, str], name: str) -> int | None:
    number = _number(fields, name)
    return None if number is None or not math.isfinite(number) else int(number)


def _text_report(text: str) -> Report | None:
    if "\\t" in text:
        # Double-escaped captures (a literal backslash-t): the platform never writes a
        # backslash in a REPORT line, so reading it as the tab it stood for is safe.
        text = text.replace("\\t", "\t").replace("\\n", "\n")
    line, _, rest = text.partition("\n")
    fields = _report_fields(line)
    request_id = fields.get("RequestId")
    duration = _number(fields, "Duration")
    if request_id is None or duration is None or not _REQUEST_ID.issuperset(request_id):
        return None  # "REPORT invalid report log line" and friends
    xray = _fields(rest[rest.find("XRAY") :]) if "XRAY" in rest else {}
    sampled = xray.get("Sampled")
    return Report(
        request_id=request_id,
        duration_ms=duration,
        billed_duration_ms=_number(fields, "Billed Duration"),
        memory_size_mb=_integer(fields, "Memory Size"),
        max_memory_used_mb=_integer(fields, "Max Memory Used"),
        init_duration_ms=_number(fields, "Init Duration"),
        restore_duration_ms=_number(fields, "Restore Duration"),
        billed_restore_duration_ms=_number(fields, "Billed Restore Duration"),
        status=fields.get("Status", "success").lower(),
        error_type=fields.get("Error Type"),
        xray_trace_id=xray.get("TraceId"),
        xray_segment_id=xray.get("SegmentId"),
        xray_sampled=None if sampled is None else sampled.lower() == "true",
    )


def _start_or_end(text: str) -> Start | End | None:
    fields = _start_or_end_fields(text)
    request_id = fields.get("RequestId")
    if request_id is None:
        return None
    if text.startswith("END "):
        return End(request_id)
    return Start(request_id, fields.get("Version"))


def _phase_line(text: str) -> PlatformEvent | None:
    keyword, _, _ = text.partition(" ")
    keyword = keyword.split("\t", 1)[0]
    fields = _fields(text)
    if keyword in ("INIT_START", "RESTORE_START"):
        return InitStart(
            fields.get("Runtime Version"),
            fields.get("Runtime Version ARN"),
            restore=keyword == "RESTORE_START",
        )
    if keyword == "INIT_REPORT":
        return InitReport(
            _number(fields, "Init Duration"),
            fields.get("Phase"),
            fields.get("Status", "success").lower(),
            fields.get("Error Type"),
        )
    if keyword == "RESTORE_REPORT":
        return RestoreReport(
            _number(fields, "Restore Duration"),
            fields.get("Status", "success").lower(),
            fields.get("Error Type"),
        )
    if keyword in ("EXTENSION", "TELEMETRY") and "Name" in fields:
        listed = fields.get("Events" if keyword == "EXTENSION" else "Types", "[]")
        items = tuple(item.strip() for item in listed.strip("[]").split(",") if item.strip())
        return ExtensionState(
            fields["Name"], fields.get("State", ""), items, telemetry=keyword == "TELEMETRY"
        )
    return None


def _fault(text: str) -> RuntimeFault | None:
    found = _FAULT.match(text)
    if not found:
        return None
    if found["exited"]:
        return RuntimeFault(found["request"], found["exited"], None)
    lines = [line.strip() for line in text.split("\n")[1:] if line.strip()]
    return RuntimeFault(found["request"], found["error"].strip(), lines[0] if lines else None)


def _out_of_memory(text: str) -> OutOfMemory | None:
    for runtime, marker in OUT_OF_MEMORY_MARKERS:
        if marker in text:
            parts = text.split(None, 2)
            request_id = parts[1] if len(parts) > 2 and parts[0][:4].isdigit() else None
            return OutOfMemory(runtime, request_id)
    return None


# -- JSON records -------------------------------------------------------------------------


def _get_number(mapping: Any, key: str) -> float | None:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return float(value) if type(value) is int or type(value) is float else None


def _get_int(mapping: Any, key: str) -> int | None:
    number = _get_number(mapping, key)
    return None if number is None or not math.isfinite(number) else int(number)


def _get_str(mapping: Any, key: str) -> str | None:
    value = mapping.get(key) if isinstance(mapping, dict) else None
    return value if isinstance(value, str) else None


def _tracing(record: dict[str, Any]) -> tuple[str | None, str | None, bool | None]:
    """Root, span and Sampled of ``record.tracing`` (``value`` is ``Root=1-...;Parent=...;
    Sampled=1``). The span is ``tracing.spanId`` when given: the platform's own span of the
    invocation phase, whereas ``Parent`` is the segment that called the function."""
    tracing = record.get("tracing")
    value = _get_str(tracing, "value")
    if not value:
        return None, None, None
    parts = dict(part.strip().split("=", 1) for part in value.split(";") if "=" in part)
    sampled = parts.get("Sampled")
    span = _get_str(tracing, "spanId") or parts.get("Parent")
    return parts.get("Root"), span, None if sampled is None else sampled == "1"


def _json_report(record: dict[str, Any]) -> Report | None:
    request_id = _get_str(record, "requestId")
    metrics = record.get("metrics")
    duration = _get_number(metrics, "durationMs")
    if request_id is None or duration is None:
        return None
    trace_id, span_id, sampled = _tracing(record)
    return Report(
        request_id=request_id,
        duration_ms=duration,
        billed_duration_ms=_get_number(metrics, "billedDurationMs"),
        memory_size_mb=_get_int(metrics, "memorySizeMB"),
        max_memory_used_mb=_get_int(metrics, "maxMemoryUsedMB"),
        init_duration_ms=_get_number(metrics, "initDurationMs"),
        restore_duration_ms=_get_number(metrics, "restoreDurationMs"),
        billed_restore_duration_ms=_get_number(metrics, "billedRestoreDurationMs"),
        status=(_get_str(record, "status") or "success").lower(),
        error_type=_get_str(record, "errorType"),
        xray_trace_id=trace_id,
        xray_segment_id=span_id,
        xray_sampled=sampled,
    )


def _json_event(view: ParsedMessage) -> PlatformEvent | None:
    document = view.json_object
    if document is None:
        return None
    kind = document.get("type")
    record = document.get("record")
    if isinstance(kind, str) and kind.startswith("platform.") and isinstance(record, dict):
        return _json_platform(kind, record)
    level = document.get("level", document.get("log_level"))
    if isinstance(level, str) and ("message" in document or "errorMessage" in document):
        message = document.get("message", document.get("errorMessage"))
        return AppLog(level, message, _get_str(document, "requestId"))
    return None


def _json_platform(kind: str, record: dict[str, Any]) -> PlatformEvent | None:
    status = (_get_str(record, "status") or "success").lower()
    error_type = _get_str(record, "errorType")
    if kind == "platform.report":
        return _json_report(record)
    if kind == "platform.start":
        request_id = _get_str(record, "requestId")
        if request_id is None:
            return None
        trace_id, span_id, _ = _tracing(record)
        return Start(request_id, _get_str(record, "version"), trace_id, span_id)
    if kind in ("platform.initStart", "platform.restoreStart"):
        return InitStart(
            _get_str(record, "runtimeVersion"),
            _get_str(record, "runtimeVersionArn"),
            _get_str(record, "initializationType"),
            _get_str(record, "phase"),
            restore=kind == "platform.restoreStart",
        )
    if kind == "platform.initReport":
        return InitReport(
            _get_number(record.get("metrics"), "durationMs"),
            _get_str(record, "phase"),
            status,
            error_type,
            _get_str(record, "initializationType"),
        )
    if kind == "platform.restoreReport":
        return RestoreReport(_get_number(record.get("metrics"), "durationMs"), status, error_type)
    if kind in ("platform.runtimeDone", "platform.initRuntimeDone", "platform.restoreRuntimeDone"):
        metrics = record.get("metrics")
        trace_id, span_id, _ = _tracing(record)
        return RuntimeDone(
            _get_str(record, "requestId"),
            status,
            error_type,
            _get_number(metrics, "durationMs"),
            _get_int(metrics, "producedBytes"),
            {"platform.initRuntimeDone": "init", "platform.restoreRuntimeDone": "restore"}.get(
                kind, "invoke"
            ),
            trace_id,
            span_id,
        )
    if kind in ("platform.extension", "platform.telemetrySubscription"):
        listed = record.get("events" if kind == "platform.extension" else "types")
        items = tuple(str(item) for item in listed) if isinstance(listed, list) else ()
        return ExtensionState(
            _get_str(record, "name") or "",
            _get_str(record, "state") or "",
            items,
            telemetry=kind == "platform.telemetrySubscription",
            error_type=error_type,
        )
    if kind == "platform.logsDropped":
        return LogsDropped(
            _get_str(record, "reason") or "",
            _get_int(record, "droppedRecords") or 0,
            _get_int(record, "droppedBytes") or 0,
        )
    return None


# -- which function a log stream belongs to -----------------------------------------------


@dataclass(frozen=True, slots=True)
class FunctionRef:
    name: str
    version: str | None  # "$LATEST", a published version number, or None when unknown


def function_from_log(log_group: str, log_stream: str) -> FunctionRef | None:
    """The function behind a log group and stream, or None for non-Lambda logs.

    The default group is ``/aws/lambda/<name>`` with streams
    ``YYYY/MM/DD/[<version>]<hex>``; a custom (shared) group carries the name in
    the stream: ``YYYY/MM/DD/<name>[<version>]<hex>``. A name in the stream wins
    over the group's: Lambda writes it only when the function logs to a group
    other than its own, and the group's name then belongs to whoever the group
    was named for (``/aws/lambda/some-other-name`` shared by several functions).
    Datadog's forwarder attributes such streams the same way.
    """
    name_in_stream, version = _stream_parts(log_stream)
    if name_in_stream:
        return FunctionRef(name_in_stream, version)
    if log_group.startswith("/aws/lambda/"):
        name = log_group[len("/aws/lambda/") :]
        return FunctionRef(name, version) if name else None
    return None


def _stream_parts(log_stream: str) -> tuple[str | None, str | None]:
    """(function name, version) from ``YYYY/MM/DD/[name][<version>]<32 hex>``.

    The shape is checked as strictly as Datadog's ``customized_log_group.py``
    does (name of 1-75 ``[0-9a-zA-Z_.-]``, version ``$LATEST`` or 1-129
    ``[0-9A-Za-z_-]``), since a name read from a stream overrides the group's.
    """
    date, _, tail = log_stream.rpartition("/")
    opening = tail.find("[")
    closing = tail.find("]", opening + 1)
    if not _is_date(date) or opening == -1 or closing == -1:
        return None, None
    suffix = tail[closing + 1 :]
    if len(suffix) != 32 or not _HEX.issuperset(suffix):
        return None, None
    name, version = tail[:opening], tail[opening + 1 : closing]
    if len(name) > 75 or not _NAME.issuperset(name):
        return None, None
    if version != "$LATEST" and not (1 <= len(version) <= 129 and _VERSION.issuperset(version)):
        return None, None
    return name or None, version


def _is_date(text: str) -> bool:
    """``YYYY/MM/DD`` with the digits where Lambda puts them."""
    return (
        len(text) == 10
        and text[4] == text[7] == "/"
        and _DIGITS.issuperset(text[:4] + text[5:7] + text[8:])
    )


_DIGITS = frozenset(string.digits)
_HEX = frozenset("0123456789abcdef")
_VERSION = frozenset(string.ascii_letters + string.digits + "_-")
_NAME = _VERSION | {"."}
