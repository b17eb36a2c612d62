"""Decode every form a CloudWatch Logs subscription delivery takes into log batches.

A delivery arrives as gzip (Kinesis, Kafka, Firehose records), several gzip
members back to back (Firehose to S3 objects), zlib, base64 of any of those
(with or without line breaks), the Lambda event ``{"awslogs": {"data": ...}}``,
a Firehose HTTP endpoint request or transformation event
(``{"records": [{"data": ...}]}``), a Kinesis event source event
(``{"Records": [{"kinesis": {"data": ...}}]}``) or the plain JSON document.
The form is told by magic bytes and shape, never by trying decoders in turn
and keeping whatever does not fail.

Every failure is a :class:`PayloadError` whose message says what is wrong;
nothing else escapes, whatever the bytes.
"""

from __future__ import annotations

import binascii
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from pipeline.errors import PayloadError

__all__ = [
    "DEFAULT_MAX_INFLATED_BYTES",
    "LogBatch",
    "LogEvent",
    "PayloadError",
    "decode",
    "parts",
]

DEFAULT_MAX_INFLATED_BYTES = 16 * 1024 * 1024
DATA_MESSAGE = "DATA_MESSAGE"
CONTROL_MESSAGE = "CONTROL_MESSAGE"

_GZIP_MAGIC = b"\x1f\x8b"
_MAX_NESTING = 4  # an envelope inside an envelope inside ...: no real delivery goes deeper
_INFLATE_CHUNK = 1024 * 1024
_INPUT_WINDOW = 256 * 1024  # compressed bytes handed to an inflater at a time (parts)
_BASE64_ALPHABET = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n \t"
)


# Read-only by convention, not frozen: built once per event, and a frozen dataclass's
# generated __init__ costs ~1 us where this one costs ~0.07 us compiled (bench core).
@dataclass(slots=True, init=False)
class LogEvent:
    """One CloudWatch log event as the subscription delivered it."""

    id: str
    timestamp: int
    message: str
    extracted_fields: dict[str, str] | None = None

    def __init__(
        self, id: str, timestamp: int, message: str, extracted_fields: dict[str, str] | None = None
    ) -> None:
        self.id = id
        self.timestamp = timestamp
        self.message = message
        self.extracted_fields = extracted_fields


@dataclass(frozen=True, slots=True)
class LogBatch:
    """One subscription document: the events of one log stream."""

    message_type: str
    owner: str
    log_group: str
    log_stream: str
    subscription_filters: tuple[str, ...]
    policy_level: str | None
    events: tuple[LogEvent, ...]

    @property
    def is_control(self) -> bool:
        """CloudWatch's reachability probe: carries no log data, to be skipped and counted."""
        return self.message_type == CONTROL_MESSAGE


def decode(data: bytes, *, max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES) -> list[LogBatch]:
    """Decode one delivery (one Kafka record value, one file) into its log batches.

    ``max_inflated_bytes`` bounds the decompressed size of the whole delivery, so a
    compression bomb is refused after inflating at most that much.
    """
    budget = _Budget(max_inflated_bytes)
    try:
        return _decode_bytes(bytes(data), budget, depth=0)
    except RecursionError as exc:  # pathological nesting in a JSON document
        raise PayloadError("JSON nested too deeply") from exc


def parts(
    data: bytes, *, max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
) -> Iterator[tuple[int, bytes]]:
    """The pieces of a file that decode on their own, one at a time, each with the offset in
    ``data`` where it starts: every gzip member, inflated, of members back to back (a
    Firehose-to-S3 object: one delivery each); anything else whole.

    Decoding a 40,000-event object whole held all its events, documents and their
    encodings at once; one member at a time holds one delivery's (``cwlpipe process``,
    bench memory). Each member has a budget of ``max_inflated_bytes`` of its own, so a
    big object of small members is no longer refused for its total, and the input is
    read through a bounded window, so the time stays linear in the object's size
    (``unused_data`` would copy the rest of the object after every member). A member
    that cannot be inflated raises :class:`PayloadError` when it is reached: the
    members before it have been yielded, and no later one can be found.
    """
    if not data.startswith(_GZIP_MAGIC):
        yield 0, data
        return
    view = memoryview(data)
    position = 0
    found = False
    while position < len(data):
        if not data.startswith(_GZIP_MAGIC, position):
            left = len(data) - position
            if data.count(0, position) == left:
                break  # zero padding after the last member
            raise PayloadError(f"{left} bytes of trailing garbage after gzip data")
        try:
            text, used = _next_member(view[position:], _Budget(max_inflated_bytes))
        except PayloadError as exc:
            if not position:
                raise
            raise PayloadError(f"gzip member at byte {position}: {exc}") from None
        if text.strip():  # an empty member adds nothing, as in a whole-file decode
            found = True
            yield position, text
        position += used
    if not found:
        raise PayloadError("empty JSON document")


def _next_member(data: memoryview, budget: _Budget) -> tuple[bytes, int]:
    """The gzip member at the start of ``data`` inflated, and the input bytes it took."""
    inflater = zlib.decompressobj(wbits=31)
    chunks: list[bytes] = []
    given = 0
    pending: bytes | memoryview = b""
    try:
        while not inflater.eof:
            if not pending:
                if given >= len(data):
                    raise PayloadError("truncated gzip data: the stream ends before its end marker")
                pending = data[given : given + _INPUT_WINDOW]
                given += len(pending)
            chunk = inflater.decompress(pending, min(_INFLATE_CHUNK, budget.remaining + 1))
            budget.take(len(chunk))
            chunks.append(chunk)
            pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise PayloadError(f"corrupt gzip data ({exc})") from exc
    return b"".join(chunks), given - len(inflater.unused_data)


class _Budget:
    """How many inflated bytes the delivery may still produce."""

    __slots__ = ("limit", "remaining")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit

    def take(self, size: int) -> None:
        self.remaining -= size
        if self.remaining < 0:
            raise PayloadError(f"inflated size exceeds the limit of {self.limit} bytes")


def _decode_bytes(data: bytes, budget: _Budget, depth: int) -> list[LogBatch]:
    if depth > _MAX_NESTING:
        raise PayloadError("payload nested too deeply")
    if not data:
        raise PayloadError("empty payload")
    if data.startswith(_GZIP_MAGIC):
        return _decode_text(_gunzip_members(data, budget), budget, depth)
    if _looks_like_zlib(data):
        return _decode_text(_inflate_zlib(data, budget), budget, depth)
    stripped = data.lstrip(b" \t\r\n\xef\xbb\xbf")
    if stripped[:1] in (b"{", b"["):
        return _decode_text(data, budget, depth)
    if not data.strip():
        raise PayloadError("empty payload (only whitespace)")
    if _BASE64_ALPHABET.issuperset(data):
        return _decode_bytes(_b64decode(data, "payload"), budget, depth + 1)
    raise PayloadError("unrecognised payload: not gzip, zlib, base64 or JSON")


def _looks_like_zlib(data: bytes) -> bool:
    """RFC 1950 header: deflate method, and the 16-bit header is a multiple of 31."""
    return (
        len(data) >= 2
        and data[0] & 0x0F == 8
        and data[0] >> 4 <= 7
        and ((data[0] << 8) | data[1]) % 31 == 0
    )


def _b64decode(data: bytes | str, where: str) -> bytes:
    compact = data.encode("ascii", "replace") if isinstance(data, str) else data
    compact = compact.translate(None, b"\r\n \t")
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except (binascii.Error, ValueError) as exc:
        raise PayloadError(f"{where}: not valid base64 ({exc})") from exc


def _gunzip_members(data: bytes, budget: _Budget) -> bytes:
    """Inflate every gzip member back to back, as Firehose writes S3 objects."""
    parts: list[bytes] = []
    rest = data
    while rest:
        if not rest.startswith(_GZIP_MAGIC):
            if not rest.strip(b"\x00"):
                break  # zero padding after the last member (tape-style writers)
            raise PayloadError(f"{len(rest)} bytes of trailing garbage after gzip data")
        out, rest = _inflate_member(zlib.decompressobj(wbits=31), rest, budget, "gzip")
        parts.append(out)
    return b"".join(parts)


def _inflate_zlib(data: bytes, budget: _Budget) -> bytes:
    out, rest = _inflate_member(zlib.decompressobj(wbits=15), data, budget, "zlib")
    if rest.strip(b"\x00"):
        raise PayloadError(f"{len(rest)} bytes of trailing garbage after zlib data")
    return out


def _inflate_member(inflater: Any, data: bytes, budget: _Budget, kind: str) -> tuple[bytes, bytes]:
    """Inflate one member in bounded steps, so a bomb stops at the budget."""
    chunks: list[bytes] = []
    pending = data
    try:
        while True:
            chunk = inflater.decompress(pending, min(_INFLATE_CHUNK, budget.remaining + 1))
            budget.take(len(chunk))
            chunks.append(chunk)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                return b"".join(chunks), inflater.unused_data
            if not pending and not chunk:
                raise PayloadError(f"truncated {kind} data: the stream ends before its end marker")
    except zlib.error as exc:
        raise PayloadError(f"corrupt {kind} data ({exc})") from exc


def _decode_text(text: bytes, budget: _Budget, depth: int) -> list[LogBatch]:
    """Decode JSON text: one document, or several back to back (Firehose to S3)."""
    batches: list[LogBatch] = []
    for document in _json_documents(text):
        batches.extend(_decode_document(document, budget, depth))
    return batches


def _json_documents(text: bytes) -> list[Any]:
    text = text.removeprefix(b"\xef\xbb\xbf")
    if not text.strip():
        raise PayloadError("empty JSON document")
    try:
        return [orjson.loads(text)]
    except orjson.JSONDecodeError as exc:
        first_error = str(exc)
    # Only the failure path pays for this: documents written back to back.
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"invalid JSON: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    decoder = json.JSONDecoder(parse_constant=_refuse_constant)
    documents: list[Any] = []
    position = _skip_blanks(decoded, 0)
    try:
        while position < len(decoded):
            document, position = decoder.raw_decode(decoded, position)
            documents.append(document)
            position = _skip_blanks(decoded, position)
    except ValueError:
        raise PayloadError(f"invalid JSON: {first_error}") from None
    return documents


def _skip_blanks(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _decode_document(document: Any, budget: _Budget, depth: int) -> list[LogBatch]:
    if not isinstance(document, dict):
        raise PayloadError(f"wrong shape: expected a JSON object, got {_type_name(document)}")
    if "logEvents" in document or "messageType" in document:
        return [_log_batch(document)]
    if "awslogs" in document:
        awslogs = document["awslogs"]
        data = awslogs.get("data") if isinstance(awslogs, dict) else None
        return _decode_nested(data, "awslogs.data", budget, depth)
    if isinstance(document.get("records"), list):  # Firehose HTTP endpoint / transformation
        return _decode_records(document["records"], "records", ("data",), budget, depth)
    if isinstance(document.get("Records"), list):  # Kinesis event source for Lambda
        return _decode_records(document["Records"], "Records", ("kinesis", "data"), budget, depth)
    raise PayloadError(
        "wrong shape: a JSON object without logEvents, awslogs.data or records[].data"
    )


def _decode_records(
    records: list[Any], name: str, path: tuple[str, ...], budget: _Budget, depth: int
) -> list[LogBatch]:
    batches: list[LogBatch] = []
    for index, record in enumerate(records):
        value: Any = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        batches.extend(_decode_nested(value, f"{name}[{index}].{'.'.join(path)}", budget, depth))
    return batches


def _decode_nested(data: Any, where: str, budget: _Budget, depth: int) -> list[LogBatch]:
    if not isinstance(data, str) or not data:
        raise PayloadError(f"wrong shape: {where} must be a non-empty base64 string")
    inner = _b64decode(data, where)
    try:
        return _decode_bytes(inner, budget, depth + 1)
    except PayloadError as exc:
        raise PayloadError(f"{where}: {exc}") from exc


def _log_batch(document: dict[str, Any]) -> LogBatch:
    message_type = document.get("messageType")
    if message_type not in (DATA_MESSAGE, CONTROL_MESSAGE):
        raise PayloadError(
            f"wrong shape: messageType must be {DATA_MESSAGE} or {CONTROL_MESSAGE}, "
            f"got {message_type!r}"[:200]
        )
    raw_events = document.get("logEvents")
    if not isinstance(raw_events, list):
        if raw_events is None:
            raise PayloadError("wrong shape: missing logEvents")
        raise PayloadError(f"wrong shape: logEvents must be an array, got {_type_name(raw_events)}")
    filters = document.get("subscriptionFilters", [])
    if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
        raise PayloadError("wrong shape: subscriptionFilters must be an array of strings")
    policy_level = document.get("policyLevel")
    return LogBatch(
        message_type=message_type,
        owner=_string(document, "owner", required=False),
        log_group=_string(document, "logGroup", required=message_type == DATA_MESSAGE),
        log_stream=_string(document, "logStream", required=message_type == DATA_MESSAGE),
        subscription_filters=tuple(filters),
        policy_level=policy_level if isinstance(policy_level, str) else None,
        events=tuple(_log_event(raw, index) for index, raw in enumerate(raw_events)),
    )


def _string(document: dict[str, Any], key: str, *, required: bool) -> str:
    value = document.get(key)
    if isinstance(value, str):
        return value
    if value is None and not required:
        return ""
    if value is None:
        raise PayloadError(f"wrong shape: missing {key}")
    raise PayloadError(f"wrong shape: {key} must be a string, got {_type_name(value)}")


def _log_event(raw: Any, index: int) -> LogEvent:
    # The common shape is checked with exact type tests and no per-event strings; anything
    # else takes the slow path below, which names what is wrong.
    if type(raw) is dict:
        message = raw.get("message")
        event_id = raw.get("id")
        timestamp = raw.get("timestamp")
        if type(message) is str and type(event_id) is str and type(timestamp) is int:
            fields = raw.get("extractedFields")
            if fields is None:
                return LogEvent(event_id, timestamp, message, None)
            if type(fields) is dict and all(type(v) is str for v in fields.values()):
                return LogEvent(event_id, timestamp, message, fields)  # no copy needed
    return _checked_log_event(raw, index)


def _checked_log_event(raw: Any, index: int) -> LogEvent:
    where = f"logEvents[{index}]"
    if not isinstance(raw, dict):
        raise PayloadError(f"wrong shape: {where} must be an object, got {_type_name(raw)}")
    message = raw.get("message")
    if not isinstance(message, str):
        what = "without message" if message is None else f"with a {_type_name(message)} message"
        raise PayloadError(f"wrong shape: {where} {what}")
    event_id = raw.get("id")
    if isinstance(event_id, int) and not isinstance(event_id, bool):
        event_id = str(event_id)
    if not isinstance(event_id, str):
        raise PayloadError(f"wrong shape: {where}.id must be a string")
    timestamp = raw.get("timestamp")
    if isinstance(timestamp, float) and timestamp.is_integer():
        timestamp = int(timestamp)
    if not isinstance(timestamp, int) or isinstance(timestamp, bool):
        raise PayloadError(f"wrong shape: {where}.timestamp must be epoch milliseconds")
    return LogEvent(event_id, timestamp, message, _extracted_fields(raw, where))


def _extracted_fields(raw: dict[str, Any], where: str) -> dict[str, str] | None:
    fields = raw.get("extractedFields")
    if fields is None:
        return None
    if not isinstance(fields, dict):
        raise PayloadError(f"wrong shape: {where}.extractedFields must be an object")
    return {key: value if isinstance(value, str) else _text(value) for key, value in fields.items()}


def _text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # an integer beyond 64 bits, from the back-to-back documents path
        return json.dumps(value)


def _type_name(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), "null")
