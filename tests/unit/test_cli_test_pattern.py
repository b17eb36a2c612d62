"""``cwlpipe test-pattern``: TestMetricFilter's response on stdout, AWS's error on stderr."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from consumers.cli import main

APACHE = '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /apache_pb.gif HTTP/1.0" 200 1534'


def run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str, *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin.encode()), encoding="utf-8")
    )
    code = main(["test-pattern", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_prints_the_test_metric_filter_response(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, f"{APACHE}\n", "--pattern", "[..., size]")
    assert code == 0
    assert orjson.loads(out) == {
        "matches": [
            {
                "eventNumber": 1,
                "eventMessage": APACHE,
                "extractedValues": {
                    "$1": "127.0.0.1",
                    "$2": "-",
                    "$3": "frank",
                    "$4": "10/Oct/2000:13:25:15 -0700",
                    "$5": "GET /apache_pb.gif HTTP/1.0",
                    "$6": "200",
                    "$size": "1534",
                },
            }
        ]
    }


def test_event_numbers_are_one_based_and_count_every_event(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        monkeypatch, capsys, "INFO a\nERROR b\nINFO c\nERROR d\n", "--pattern", "ERROR"
    )
    assert code == 0
    response = orjson.loads(out)
    assert [m["eventNumber"] for m in response["matches"]] == [2, 4]
    assert [m["extractedValues"] for m in response["matches"]] == [{}, {}]


def test_no_match_is_an_empty_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(monkeypatch, capsys, "INFO\n", "--pattern", "ERROR")
    assert (code, orjson.loads(out)) == (0, {"matches": []})


def test_jsonl_reads_messages_with_newlines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = '"first\\nERROR line"\n"second"\n'
    code, out, _ = run(monkeypatch, capsys, stdin, "--jsonl", "--pattern", "ERROR")
    assert code == 0
    assert orjson.loads(out)["matches"][0]["eventMessage"] == "first\nERROR line"


def test_jsonl_refuses_a_line_that_is_not_a_json_string(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(monkeypatch, capsys, '{"a": 1}\n', "--jsonl", "--pattern", "ERROR")
    assert code == 2
    assert "line 1" in err


def test_events_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.txt"
    events.write_text('{"latency": 50}\n{"latency": 5}\n', encoding="utf-8")
    code = main(["test-pattern", "--pattern", "{ $.latency > 10 }", "--events-file", str(events)])
    assert code == 0
    assert [m["eventNumber"] for m in orjson.loads(capsys.readouterr().out)["matches"]] == [1]


def test_invalid_pattern_exits_2_with_reason_and_caret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(monkeypatch, capsys, "x\n", "--pattern", "ERR*")
    assert code == 2
    assert out == ""
    assert err.splitlines() == [
        "InvalidParameterException: Invalid character(s) in term '*'",
        "ERR*",
        "   ^",
    ]


def test_console_script_is_installed_and_runs() -> None:
    script = shutil.which("cwlpipe", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the cwlpipe console script is not installed beside this interpreter")
    result = subprocess.run(
        [script, "test-pattern", "--pattern", "{ $.a = 1 }"],
        input='{"a": 1}\n{"a": 2}\n',
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert [m["eventNumber"] for m in orjson.loads(result.stdout)["matches"]] == [1]


def test_stdin_that_is_not_utf8_is_refused_with_where(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"ok\ncaf\xe9 ERROR\n")))
    assert main(["test-pattern", "--pattern", "ERROR"]) == 2
    assert capsys.readouterr().err.strip() == (
        "cwlpipe test-pattern: stdin: line 2: not UTF-8 text (byte 0xe9 at column 4)"
    )
