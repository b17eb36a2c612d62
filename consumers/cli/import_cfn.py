"""``cwlpipe import-cfn TEMPLATE... [--output pipeline.yaml]``: a pipeline config from templates.

Reads CloudFormation and SAM templates (YAML with the short tags, or JSON):
each ``AWS::Logs::SubscriptionFilter`` (and SAM ``CloudWatchLogs`` event)
becomes a route with its log group, filter pattern and the log group's
``RetentionInDays`` (``never`` when the template sets none), on its own index
prefix ``cwl-<log group>``; each ``AWS::Logs::MetricFilter`` a metric filter.
``!Ref`` (parameters by their Default, log groups, functions' FunctionName,
so ``!Sub /aws/lambda/${Fn}`` names a SAM function's log group), ``!Sub``,
``!GetAtt LogGroup.Arn`` and ``!Join`` are resolved.

What cannot be resolved (a deployment's pseudo parameter, ``!ImportValue``,
``!If``, a generated name...) is reported on stderr by template, resource and
property, and skipped; nothing is guessed. The config goes to stdout unless
``--output`` is given; check it with ``cwlpipe validate --config``.

Exit status: 0 the config was written and nothing skipped; 1 the config was
written but something was skipped (see stderr); 2 a template could not be
read (one line: file and reason), nothing written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from pipeline.cfn_import import TemplateError, import_templates

__all__ = ["register", "run"]

EXIT_SKIPPED = 1
EXIT_TEMPLATE = 2


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "import-cfn",
        help="write a pipeline config from CloudFormation/SAM templates' log resources",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("templates", nargs="+", metavar="TEMPLATE", help="template (YAML/JSON)")
    parser.add_argument("--output", default=None, help="write the config here (default: stdout)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    texts = []
    for name in args.templates:
        try:
            texts.append((name, Path(name).read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as error:
            reason = error.strerror if isinstance(error, OSError) and error.strerror else error
            print(f"cwlpipe import-cfn: {name}: cannot read: {reason}", file=sys.stderr)
            return EXIT_TEMPLATE
    try:
        result = import_templates(texts)
    except TemplateError as error:
        print(f"cwlpipe import-cfn: {error}", file=sys.stderr)
        return EXIT_TEMPLATE
    for problem in result.problems:
        print(f"cwlpipe import-cfn: {problem.line()}", file=sys.stderr)
    header = "# written by cwlpipe import-cfn from " + ", ".join(args.templates) + "\n"
    text = header + yaml.safe_dump(result.config, sort_keys=False, allow_unicode=True)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            print(f"cwlpipe import-cfn: {args.output}: cannot write: {error}", file=sys.stderr)
            return EXIT_TEMPLATE
    return EXIT_SKIPPED if result.problems else 0
