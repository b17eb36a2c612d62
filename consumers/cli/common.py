"""What every command that reads a config shares: loading it, and a bad one as one line, exit 2.

``cwlpipe <command>: bad config: file: key.path: reason`` on stderr, no
traceback: an operator reads which file, which key and why, and fixes it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from importlib.resources.abc import Traversable

from consumers.config.file import load_config
from consumers.config.service import ServiceConfig
from pipeline.errors import ConfigError

__all__ = ["EXIT_CONFIG", "bad_config", "load"]

EXIT_CONFIG = 2


def bad_config(command: str, error: ConfigError) -> int:
    """Report ``error`` for ``cwlpipe command`` and give the exit status to return."""
    print(f"cwlpipe {command}: bad config: {error}", file=sys.stderr)
    return EXIT_CONFIG


def load(
    command: str,
    path: str | os.PathLike[str] | Traversable | None,
    env: Mapping[str, str] | None = None,
) -> ServiceConfig | None:
    """The checked config at ``path`` (environment overrides from ``env``, default the process's);
    None once the reason has been reported, so the command returns :data:`EXIT_CONFIG`.
    """
    try:
        return load_config(path, env=os.environ if env is None else env)
    except ConfigError as error:
        bad_config(command, error)
        return None
