"""Property-based: whatever the input, only the documented error types come out."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.patterns import PatternError, compile_pattern
from pipeline.payload import PayloadError, decode


def json_text(value: object) -> bytes:
    """stdlib json on purpose: it writes integers beyond 64 bits, which messages may hold."""
    return json.dumps(value).encode()


PATTERN_ALPHABET = st.sampled_from(
    [
        *list("{}[]()$.*%\"'&|=!<>,-?_ \t\\aAeE019:/@é"),
        "...",
        "IS",
        "NULL",
        "NOT EXISTS",
        "$.a",
        "&&",
        "||",
    ]
)
pattern_like = st.lists(PATTERN_ALPHABET, max_size=40).map("".join)
structured_pattern = st.one_of(
    pattern_like,
    pattern_like.map(lambda body: "{" + body + "}"),
    pattern_like.map(lambda body: "[" + body + "]"),
    pattern_like.map(lambda body: "%" + body + "%"),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from("abc"), children, max_size=3)
    ),
    max_leaves=10,
)
messages = st.one_of(
    st.text(max_size=80),
    json_values.map(lambda v: json_text(v).decode()),
    st.lists(st.sampled_from(['"', "[", "]", " ", "\t", "a", "1", "-"]), max_size=30).map("".join),
)


def _compile_or_none(text: str):  # type: ignore[no-untyped-def]
    try:
        return compile_pattern(text)
    except PatternError as exc:
        assert 0 <= exc.position <= max(len(text), 1)
        return None


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_compile_raises_only_pattern_error_on_any_text(text: str) -> None:
    _compile_or_none(text)


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(structured_pattern, st.lists(messages, max_size=4))
def test_match_raises_nothing_on_any_message(pattern: str, sample: list[str]) -> None:
    compiled = _compile_or_none(pattern)
    if compiled is None:
        return
    for message in sample:
        match = compiled.match(message)
        assert (match is not None) == compiled.matches(message)
        if match is not None:
            assert all(isinstance(v, str) for v in match.extracted_values.values())


@settings(max_examples=600)
@given(st.binary(max_size=200))
def test_decode_raises_only_payload_error_on_any_bytes(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode(data)


wrapped_bytes = st.one_of(
    st.binary(max_size=100).map(gzip.compress),
    st.binary(max_size=100).map(zlib.compress),
    st.binary(max_size=100).map(lambda b: base64.b64encode(gzip.compress(b))),
    json_values.map(json_text),
    json_values.map(
        lambda v: gzip.compress(
            json_text(
                {"messageType": "DATA_MESSAGE", "logGroup": "g", "logStream": "s", "logEvents": v}
            )
        )
    ),
    json_values.map(lambda v: json_text({"awslogs": {"data": v}})),
    json_values.map(lambda v: json_text({"records": [{"data": v}]})),
)


@settings(max_examples=600)
@given(wrapped_bytes)
def test_decode_raises_only_payload_error_on_plausible_envelopes(data: bytes) -> None:
    with contextlib.suppress(PayloadError):
        decode(data)
