"""``cwlpipe dashboards import`` against a small double of Dashboards' ``_import`` endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import BodyPartReader, web

from consumers.cli import main
from consumers.cli.dashboards import default_files


@dataclass
class Received:
    query: dict[str, str]
    headers: dict[str, str]
    field_name: str | None
    filename: str | None
    body: bytes


@dataclass
class Double:
    url: str
    received: list[Received] = field(default_factory=list)
    #: file name -> (status, answer); default: every object imported
    answers: dict[str, tuple[int, Any]] = field(default_factory=dict)


@pytest.fixture
async def double() -> AsyncIterator[Double]:
    state = Double("")

    async def handle(request: web.Request) -> web.Response:
        reader = await request.multipart()
        part = await reader.next()
        assert isinstance(part, BodyPartReader)
        body = await part.read()
        name = part.filename
        state.received.append(
            Received(dict(request.query), dict(request.headers), part.name, name, bytes(body))
        )
        count = len(bytes(body).splitlines())
        status, answer = state.answers.get(
            name or "", (200, {"success": True, "successCount": count})
        )
        return web.json_response(answer, status=status)

    app = web.Application()
    app.router.add_post("/base/api/saved_objects/_import", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/base"
    yield state
    await runner.cleanup()


async def cli(*argv: str) -> int:
    return await asyncio.to_thread(main, ["dashboards", "import", *argv])


async def test_posts_each_shipped_file_as_multipart_with_the_xsrf_headers(
    double: Double, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli("--url", double.url) == 0
    files = default_files()
    assert [r.filename for r in double.received] == [p.name for p in files]
    assert files[0].name == "index-patterns.ndjson"  # the others reference its patterns
    for received, path in zip(double.received, files, strict=True):
        assert received.query == {"overwrite": "true"}
        assert received.field_name == "file"
        assert received.headers["osd-xsrf"] == "true"
        assert received.headers["kbn-xsrf"] == "true"
        assert received.headers["Content-Type"].startswith("multipart/form-data")
        assert received.body == path.read_bytes()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "index-patterns.ndjson: 2 of 2 imported"
    assert len(lines) == len(files)


async def test_failed_objects_are_reported_one_line_per_file_and_exit_1(
    double: Double, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good, bad, refused = tmp_path / "good.ndjson", tmp_path / "bad.ndjson", tmp_path / "r.ndjson"
    for path in (good, bad, refused):
        path.write_text('{"type":"visualization","id":"a"}\n{"type":"dashboard","id":"b"}\n')
    missing = {"type": "missing_references", "references": [{"type": "index-pattern", "id": "p"}]}
    double.answers["bad.ndjson"] = (
        200,
        {
            "success": False,
            "successCount": 1,
            "errors": [{"id": "a", "type": "visualization", "title": "A", "error": missing}],
        },
    )
    double.answers["r.ndjson"] = (
        400,
        {"statusCode": 400, "error": "Bad Request", "message": "Unexpected token"},
    )
    argv = ["--url", double.url, "--file", str(good), "--file", str(bad), "--file", str(refused)]
    assert await cli(*argv) == 1
    assert capsys.readouterr().out.splitlines() == [
        "good.ndjson: 2 of 2 imported",
        "bad.ndjson: 1 of 2 imported; failed: visualization a: missing_references"
        " (missing index-pattern p)",
        "r.ndjson: HTTP 400: Unexpected token",
    ]


async def test_a_non_json_answer_is_a_failure(
    double: Double, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "x.ndjson"
    path.write_text("{}\n")
    double.answers["x.ndjson"] = (200, "not an object")
    assert await cli("--url", double.url, "--file", str(path)) == 1
    assert capsys.readouterr().out == 'x.ndjson: HTTP 200: "not an object"\n'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--url", "ftp://host"], "--url ftp://host: not an http(s) URL"),
        (["--url", "http://h", "--file", "/nonexistent.ndjson"], "/nonexistent.ndjson: No such"),
    ],
)
async def test_bad_arguments_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli(*argv) == 2
    assert message in capsys.readouterr().err


async def test_missing_url_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        await cli()
    assert exit_.value.code == 2
    assert "--url" in capsys.readouterr().err


def test_unreachable_dashboards_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.ndjson"
    path.write_bytes(orjson.dumps({}) + b"\n")
    assert main(["dashboards", "import", "--url", "http://127.0.0.1:9", "--file", str(path)]) == 1
    assert capsys.readouterr().out.startswith("x.ndjson: request failed: ")
