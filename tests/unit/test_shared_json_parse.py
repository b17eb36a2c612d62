"""A JSON line is parsed once for patterns and its document, with the same document as before.

``build_source(view=...)`` borrows the parse the patterns already made;
whatever the message, the document must equal the one built from the text
alone, and building it must not change what the patterns see.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.documents import build_source
from pipeline.patterns.message import ParsedMessage

MESSAGES = [
    '{"level": "INFO", "n": 1}',
    '  \t{"level": "INFO"}',
    'INFO {"level": "INFO", "n": 2}',
    '2024-10-25T19:54:47.253Z\tabc\tINFO\t{"a": {"b": [1, 2]}}',
    '{"big": 123456789012345678901234567890}',  # only the lenient reader takes it
    '[1, 2, {"a": 1}]',
    '{"a": 1} trailing',
    "{not json",
    "plain line",
    "",
    '{"traceId": "1-abc-def", "x": null}',
]


def _both(message: str, json_fields: Any = "merge") -> tuple[dict[str, Any], dict[str, Any]]:
    common: dict[str, Any] = {
        "event_id": "1",
        "timestamp": 1_795_000_000_000,
        "message": message,
        "owner": "123456789012",
        "log_group": "/app",
        "log_stream": "s",
        "extracted_fields": None,
        "json_fields": json_fields,
    }
    view = ParsedMessage(message)
    before = view.json_object
    shared = build_source(**common, view=view)
    assert view.json_object == before  # the document did not write into the patterns' parse
    return build_source(**common), shared


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("json_fields", ["merge", "nest", "off"])
def test_the_document_is_the_same_with_the_shared_parse(message: str, json_fields: str) -> None:
    alone, shared = _both(message, json_fields)
    assert shared == alone


def test_a_json_line_is_not_parsed_twice() -> None:
    view = ParsedMessage('{"level": "INFO"}')
    parsed = view.json_object
    assert view.leading_json_object() is parsed


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@given(
    prefix=st.sampled_from(["", " ", "\t", "INFO ", "x{", "{"]),
    value=JSON_VALUES,
    suffix=st.sampled_from(["", " ", "}", " tail"]),
)
def test_any_message_gives_the_same_document(prefix: str, value: Any, suffix: str) -> None:
    try:
        body = orjson.dumps(value).decode()
    except TypeError:  # beyond 64 bits: written the way a runtime would
        body = str(value)
    alone, shared = _both(prefix + body + suffix)
    assert shared == alone
