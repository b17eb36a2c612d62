"""The split-based readers of START/END/REPORT lines give exactly what the regex gives.

They exist for speed (issue 9); the regex stays the definition. Every platform
line of the shared fixtures and generated variants go through both.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.lambda_platform import _fields, _report_fields, _start_or_end_fields
from tests.conftest import NO_SHARED, SHARED


def _fixture_messages() -> list[str]:
    if SHARED is None:
        return []
    messages = []
    for path in sorted((SHARED / "reference" / "lambda").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            record = json.loads(line)
            for value in record.values() if isinstance(record, dict) else ():
                if isinstance(value, str) and value.startswith(("START ", "END ", "REPORT ")):
                    messages.append(value)
    return messages


def _agrees(message: str) -> None:
    if message.startswith("REPORT "):
        line = message.partition("\n")[0]
        assert _report_fields(line) == _fields(line)
    else:
        assert _start_or_end_fields(message) == _fields(message)


@pytest.mark.skipif(SHARED is None, reason=NO_SHARED)
def test_every_fixture_line_reads_the_same() -> None:
    messages = _fixture_messages()
    assert len(messages) > 20
    for message in messages:
        _agrees(message)


REQUEST_IDS = st.sampled_from(
    ["06e46194-f277-454e-88d3-1dd7e3860eaa", "abc", "a b", "[x]", "Version:", "", "é"]
)
VALUES = st.sampled_from(["1.23", "512", "", "[1]", "x y", "1\u00a0ms", "timeout", "1.5\r"])
UNITS = st.sampled_from(["", " ms", " MB", " s", "  ms", " ms extra"])
NAMES = st.sampled_from(
    [
        "Duration",
        "Billed Duration",
        "Memory Size",
        "Max Memory Used",
        "Init Duration",
        "Status",
        "Error Type",
        "Phase",
        "TraceId",
        "Restore Duration",
        "duration",
        "RequestId",
    ]
)


@given(
    request_id=REQUEST_IDS,
    parts=st.lists(
        st.tuples(NAMES, st.sampled_from([": ", ":", ":  "]), VALUES, UNITS), max_size=6
    ),
    tail=st.sampled_from(["", "\t", "\t\t", " "]),
)
def test_generated_report_lines_read_the_same(
    request_id: str, parts: list[tuple[str, str, str, str]], tail: str
) -> None:
    body = "\t".join(f"{name}{colon}{value}{unit}" for name, colon, value, unit in parts)
    line = f"REPORT RequestId: {request_id}" + (f"\t{body}" if body else "") + tail
    assert _report_fields(line) == _fields(line)


@given(
    keyword=st.sampled_from(["START", "END"]),
    request_id=REQUEST_IDS,
    version=st.sampled_from(
        [
            "",
            " Version: $LATEST",
            " Version: 3",
            " Version: [x]",
            " Version: Version:",
            " Version:",
            " Other: 1",
        ]
    ),
    tail=st.sampled_from(["", "\n", " ", "\t\n"]),
)
def test_generated_start_and_end_lines_read_the_same(
    keyword: str, request_id: str, version: str, tail: str
) -> None:
    line = f"{keyword} RequestId: {request_id}{version}{tail}"
    assert _start_or_end_fields(line) == _fields(line)
