"""``python -m bench core --json`` prints what other tools read (no timing is asserted)."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from bench.core import main, mixed_deliveries
from pipeline.payload import decode


def test_the_generated_mix_is_ten_thousand_events_of_four_kinds() -> None:
    deliveries = mixed_deliveries()
    batches = [batch for value in deliveries for batch in decode(value)]
    assert sum(len(b.events) for b in batches) == 10_000
    assert {b.log_group for b in batches} == {
        "/aws/lambda/orders",
        "API-Gateway-Execution-Logs_abc/prod",
    }
    sizes = [len(e.message) for b in batches for e in b.events]
    assert 100 < sum(sizes) / len(sizes) < 260  # about the 176 bytes measured


def test_json_output_has_the_named_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--seconds", "0.05", "--json"]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert {"events_per_s", "minimal_path_events_per_s", "ratio"} <= set(result)
    assert result["ratio"] == pytest.approx(
        result["events_per_s"] / result["minimal_path_events_per_s"], rel=0.01
    )


# A stand-in with the shape of the console's LogsToElasticsearch function (a handler that
# gunzips the Lambda event, a module-private transform building the bulk body, a module-private
# post that would send it): written here, it is not the function itself, which never ships.
STAND_IN = """
var https = require('https');
var zlib = require('zlib');
exports.handler = function(input, context) {
    zlib.gunzip(Buffer.from(input.awslogs.data, 'base64'), function(error, buffer) {
        if (error) { context.fail(error); return; }
        var body = transform(JSON.parse(buffer.toString('utf8')));
        if (!body) { context.succeed('control'); return; }
        post(body, function(error) { if (error) context.fail(error); else context.succeed('ok'); });
    });
};
function transform(payload) {
    if (payload.messageType === 'CONTROL_MESSAGE') return null;
    var body = '';
    payload.logEvents.forEach(function(e, i) {
        if (i % KEEP_ONE_IN !== 0) return;
        body += JSON.stringify({index: {_id: e.id}}) + '\\n' + JSON.stringify({'@message': e.message}) + '\\n';
    });
    return body;
}
function post(body, callback) {
    https.request({host: 'example.invalid', method: 'POST', path: '/_bulk'}, function() {}).end(body);
}
"""

NODE = shutil.which("node")
needs_node = pytest.mark.skipif(NODE is None, reason="node (Node.js) is not on PATH")


def stand_in(tmp_path: Path, keep_one_in: int = 1) -> Path:
    index = tmp_path / "index.js"
    index.write_text(STAND_IN.replace("KEEP_ONE_IN", str(keep_one_in)), encoding="utf-8")
    return index


@needs_node
def test_blueprint_runs_beside_the_core_on_the_same_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--seconds", "0.05", "--json", "--blueprint", str(stand_in(tmp_path))]) == 0
    result = orjson.loads(capsys.readouterr().out)
    assert result["blueprint_events"] == result["events"] == 10_000
    assert result["blueprint_events_per_s"] > 0
    assert result["core_vs_blueprint"] == pytest.approx(
        result["events_per_s"] / result["blueprint_events_per_s"], rel=0.01
    )


@needs_node
def test_the_blueprint_count_is_what_the_function_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # gzip members back to back (one --payload file) become one Lambda event per document
    payload = tmp_path / "members.gz"
    payload.write_bytes(b"".join(mixed_deliveries(events=2_000)))
    index = stand_in(tmp_path, keep_one_in=4)
    argv = ["--seconds", "0.05", "--json", "--payload", str(payload), "--blueprint", str(index)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert orjson.loads(captured.out)["blueprint_events"] == 500
    assert "the blueprint indexed 500 events a pass, the deliveries hold 2,000" in captured.err


@needs_node
def test_a_file_without_the_blueprint_shape_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index.js"
    index.write_text("exports.handler = function (event, context) {};\n", encoding="utf-8")
    assert main(["--seconds", "0.05", "--blueprint", str(index)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "no top-level function post(body, callback)" in captured.err


def test_a_missing_blueprint_or_node_is_said_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "absent" / "index.js"
    assert main(["--seconds", "0.05", "--blueprint", str(missing)]) == 1
    assert capsys.readouterr().err == f"bench core: --blueprint {missing}: no such file\n"
    monkeypatch.setenv("PATH", str(tmp_path))
    assert main(["--seconds", "0.05", "--blueprint", str(stand_in(tmp_path))]) == 1
    assert "needs node (Node.js) on PATH" in capsys.readouterr().err
