"""``cwlpipe retention [--dry-run]``: put the routes' retention in place in the store, or show how.

With ISM: create or update one policy per distinct retention and attach it to
existing day indices. Without ISM: delete the day indices past retention
(the daemon's sweeper does the same every hour). ``--dry-run`` only reads and
prints the plan.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from opensearchpy.exceptions import ConnectionError as StoreConnectionError
from opensearchpy.exceptions import TransportError

from consumers.cli.common import EXIT_CONFIG, bad_config, load
from consumers.config.file import DEFAULT_CONFIG
from consumers.config.summary import mask_url
from consumers.opensearch.retention import RetentionManager
from consumers.opensearch.sink import make_client
from consumers.runtime.errors import describe
from pipeline.errors import ConfigError

__all__ = ["register", "run"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "retention",
        help="apply (or with --dry-run print) the retention plan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", default=str(DEFAULT_CONFIG), help="pipeline config (YAML)")
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    config = load("retention", args.config)
    if config is None:
        return EXIT_CONFIG
    if config.opensearch.url is None:
        missing = ConfigError(
            "is required by cwlpipe retention", file=config.file, key="opensearch.url"
        )
        return bad_config("retention", missing)

    async def apply() -> list[str]:
        client = make_client(config.opensearch)
        try:
            plan = await RetentionManager(client).apply(config.index_routes(), dry_run=args.dry_run)
            return plan.describe()
        finally:
            await client.close()

    try:
        lines = asyncio.run(apply())
    except (StoreConnectionError, TransportError) as error:
        where = mask_url(config.opensearch.url or "")
        print(f"cwlpipe retention: OpenSearch ({where}): {describe(error)}", file=sys.stderr)
        return 1
    if args.dry_run:
        print("dry run, nothing was changed; the plan:")
    for line in lines:
        print(f"  {line}" if args.dry_run else line)
    return 0
