"""``cwlpipe dashboards import --url URL [--file F...]``: load the saved objects into Dashboards.

Each file (default: ``configs/dashboards/*.ndjson``, the index patterns
first) is posted to ``<URL>/api/saved_objects/_import?overwrite=true`` as
the multipart ``file`` field, with ``osd-xsrf`` (OpenSearch Dashboards) and
``kbn-xsrf`` (Kibana) headers; credentials go in the URL
(``https://user:password@host:5601``). One line per file: how many
objects were imported, and each object that failed with the reason the
answer gives. Exit 1 if any object or request failed, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from yarl import URL

from consumers.config.summary import mask_url
from consumers.devtools.dashboards import DASHBOARDS_DIR

__all__ = ["default_files", "describe_answer", "register", "run"]

EXIT_FAILED = 1
EXIT_USAGE = 2
IMPORT_PATH = "api/saved_objects/_import"
HEADERS = {"osd-xsrf": "true", "kbn-xsrf": "true"}


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "dashboards",
        help="import the OpenSearch Dashboards saved objects",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="dashboards_action", required=True, metavar="ACTION")
    importer = actions.add_parser("import", help="post the saved objects to Dashboards' _import")
    importer.add_argument("--url", required=True, help="Dashboards (or Kibana) base URL")
    importer.add_argument(
        "--file",
        action="append",
        dest="files",
        metavar="F",
        help="an .ndjson file (repeatable); default: configs/dashboards/*.ndjson",
    )
    importer.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    importer.set_defaults(handler=run)


def default_files(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    """The shipped files, the index patterns first (the others reference them)."""
    return sorted(
        directory.glob("*.ndjson"), key=lambda p: (p.name != "index-patterns.ndjson", p.name)
    )


def describe_answer(name: str, status: int, body: bytes, objects: int) -> tuple[str, bool]:
    """One line for one file's answer, and whether everything in it was imported."""
    try:
        answer = orjson.loads(body)
    except orjson.JSONDecodeError:
        answer = None
    if not isinstance(answer, dict):
        text = body.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
        return f"{name}: HTTP {status}: {text or 'empty answer'}", False
    if status != 200:
        reason = answer.get("message") or answer.get("error") or "no reason given"
        return f"{name}: HTTP {status}: {reason}", False
    count = answer.get("successCount", 0)
    errors = answer.get("errors") or []
    ok = bool(answer.get("success")) and not errors
    line = f"{name}: {count} of {objects} imported"
    if errors:
        line += "; failed: " + "; ".join(_describe_error(error) for error in errors)
    return line, ok


def _describe_error(error: Any) -> str:
    if not isinstance(error, dict):
        return str(error)
    what = f"{error.get('type', '?')} {error.get('id', '?')}"
    found = error.get("error")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = detail.get("type", "unknown")
    reason = detail.get("message") or detail.get("reason") or ""
    missing = detail.get("references")
    if isinstance(missing, list) and missing:
        reason = "missing " + ", ".join(
            f"{ref.get('type')} {ref.get('id')}" for ref in missing if isinstance(ref, dict)
        )
    return f"{what}: {kind}" + (f" ({reason})" if reason else "")


def _count_objects(data: bytes) -> int:
    return sum(1 for line in data.splitlines() if line.strip())


async def import_files(
    url: URL, files: Sequence[tuple[str, bytes]], timeout: float
) -> list[tuple[str, bool]]:
    endpoint = (url / IMPORT_PATH).with_query({"overwrite": "true"})
    results = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        for name, data in files:
            form = aiohttp.FormData()
            form.add_field("file", data, filename=name, content_type="application/ndjson")
            try:
                async with session.post(endpoint, data=form, headers=HEADERS) as response:
                    body = await response.read()
                    results.append(
                        describe_answer(name, response.status, body, _count_objects(data))
                    )
            except (aiohttp.ClientError, TimeoutError) as error:
                reason = str(error) or type(error).__name__
                results.append((f"{name}: request failed: {reason}", False))
    return results


def run(args: argparse.Namespace) -> int:
    url = URL(args.url)
    if url.scheme not in ("http", "https") or not url.host:
        print(
            f"cwlpipe dashboards: --url {mask_url(args.url)}: not an http(s) URL", file=sys.stderr
        )
        return EXIT_USAGE
    paths = [Path(name) for name in args.files] if args.files else default_files()
    if not paths:
        print(
            f"cwlpipe dashboards: no .ndjson files in {DASHBOARDS_DIR}; give --file",
            file=sys.stderr,
        )
        return EXIT_USAGE
    files = []
    for path in paths:
        try:
            files.append((path.name, path.read_bytes()))
        except OSError as error:
            print(f"cwlpipe dashboards: {path}: {error.strerror or error}", file=sys.stderr)
            return EXIT_USAGE
    results = asyncio.run(import_files(url, files, args.timeout))
    for line, _ in results:
        print(line)
    return 0 if all(ok for _, ok in results) else EXIT_FAILED
