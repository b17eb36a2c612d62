"""The ``cwlpipe`` command line: one sub-command per user task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from consumers import (
    demo_command,
    process_command,
    produce_samples_command,
    retention_command,
    run_command,
    test_pattern_command,
)

__all__ = ["main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwlpipe",
        description="CloudWatch Logs subscription data from Kafka into OpenSearch and Prometheus.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo_command.register(commands)
    process_command.register(commands)
    run_command.register(commands)
    retention_command.register(commands)
    produce_samples_command.register(commands)
    test_pattern_command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
