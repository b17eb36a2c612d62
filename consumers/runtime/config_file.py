"""Reading the configuration file: the one piece of config handling that does I/O."""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path

from consumers.resources import DEFAULT_CONFIG
from pipeline.config import PipelineConfig, parse_config
from pipeline.errors import ConfigError

__all__ = ["DEFAULT_CONFIG", "load_config"]


def load_config(
    path: str | os.PathLike[str] | Traversable | None, env: Mapping[str, str] | None = None
) -> PipelineConfig:
    """The validated config in ``path`` (``env`` overrides applied); no path: built-in defaults.

    ``path`` may be a package resource (``DEFAULT_CONFIG``), which is not always a file.
    """
    if path is None:
        return PipelineConfig()
    source = Path(path) if isinstance(path, str | os.PathLike) else path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=str(path)) from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text: {error.reason}", file=str(path)) from error
    return parse_config(text, file=str(path), env=env)
