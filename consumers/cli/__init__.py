"""The ``cwlpipe`` command line: one sub-command per user task."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import pipeline
from consumers.cli import (
    dashboards,
    demo,
    import_cfn,
    insights,
    logs,
    process,
    produce_samples,
    replay_dlq,
    retention,
    run,
    serve,
    test_pattern,
    validate,
    xray_listen,
)

__all__ = ["build_parser", "join_relative_times", "main"]

DISTRIBUTION = "cwl-pipeline"


def installed_version() -> str:
    """The version pip installed (the distribution's metadata), so a report names the real build."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cwlpipe",
        description="CloudWatch Logs subscription data from Kafka into OpenSearch and Prometheus.",
    )
    core = "core compiled with mypyc" if pipeline.compiled() else "pure-Python core"
    parser.add_argument(
        "--version", action="version", version=f"cwlpipe {installed_version()} ({core})"
    )
    parser.set_defaults(log_level_default="info")
    logs.add_arguments(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dashboards.register(commands)
    demo.register(commands)
    import_cfn.register(commands)
    insights.register(commands)
    process.register(commands)
    run.register(commands)
    retention.register(commands)
    produce_samples.register(commands)
    replay_dlq.register(commands)
    serve.register(commands)
    test_pattern.register(commands)
    validate.register(commands)
    xray_listen.register(commands)
    for command in commands.choices.values():  # the modules' docstrings, without reST markup
        if command.description:
            command.description = command.description.replace("``", "")
    return parser


#: options whose value may be a relative time such as -1h, which argparse takes for an option
_RELATIVE_TIME_OPTIONS = ("--start", "--end", "--since", "--until")


def join_relative_times(argv: Sequence[str]) -> list[str]:
    """``--start -1h`` -> ``--start=-1h`` (and ``--since``, ``--until``), so the documented
    spelling works."""
    joined: list[str] = []
    for arg in argv:
        if (
            joined
            and joined[-1] in _RELATIVE_TIME_OPTIONS
            and arg[:2].startswith("-")
            and arg[1:2].isdigit()
        ):
            joined[-1] = f"{joined[-1]}={arg}"
        else:
            joined.append(arg)
    return joined


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(join_relative_times(sys.argv[1:] if argv is None else argv))
    logs.setup(args.log_level or args.log_level_default, args.log_format)
    code: int = args.handler(args)
    return code
