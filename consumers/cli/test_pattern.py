"""``cwlpipe test-pattern``: CloudWatch's TestMetricFilter on the command line.

Reads one event per line (stdin by default), or with ``--jsonl`` one JSON
string per line for messages that hold newlines, and prints exactly the
TestMetricFilter response. An invalid pattern exits 2 with AWS's exception
name, the reason and a caret under the failing character on stderr.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

import orjson

from pipeline.errors import PatternError
from pipeline.test_metric_filter import test_metric_filter

__all__ = ["register", "run"]

EXIT_USAGE = 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "test-pattern",
        help="test a filter pattern against sample events, like CloudWatch's TestMetricFilter",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--pattern", required=True, help="the filter pattern")
    parser.add_argument(
        "--events-file",
        type=argparse.FileType("rb"),
        default=None,
        help="file with one event per line (default: standard input)",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="each line is a JSON string, for messages that contain newlines",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    source: BinaryIO = args.events_file or sys.stdin.buffer
    name = args.events_file.name if args.events_file else "stdin"
    try:
        messages = list(_read_events(source, jsonl=args.jsonl, name=name))
    except ValueError as exc:
        print(f"cwlpipe test-pattern: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        response = test_metric_filter(args.pattern, messages)
    except PatternError as exc:
        print(f"InvalidParameterException: {exc.reason}", file=sys.stderr)
        print(exc.caret(), file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(orjson.dumps(response, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def _read_events(source: BinaryIO, *, jsonl: bool, name: str = "stdin") -> Iterator[str]:
    """Events in order; blank lines are skipped, as CloudWatch has no empty events.

    Lines are decoded here, strictly: CloudWatch events are UTF-8, and a byte
    that is not is reported with where it is rather than carried along.
    """
    for number, raw in enumerate(source, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"{name}: line {number}: not UTF-8 text (byte 0x{raw[exc.start]:02x} "
                f"at column {exc.start + 1})"
            ) from None
        text = line.rstrip("\r\n")
        if not jsonl:
            if text:
                yield text
            continue
        if not text.strip():
            continue
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from None
        if not isinstance(value, str):
            raise ValueError(f"line {number}: --jsonl wants one JSON string per line")
        yield value
