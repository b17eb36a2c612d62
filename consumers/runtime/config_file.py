"""Reading the configuration file: the one piece of config handling that does I/O."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pipeline.config import PipelineConfig, parse_config
from pipeline.errors import ConfigError

__all__ = ["DEFAULT_CONFIG", "load_config"]

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "configs" / "pipeline.yaml"


def load_config(path: str | Path | None, env: Mapping[str, str] | None = None) -> PipelineConfig:
    """The validated config in ``path`` (``env`` overrides applied); no path: built-in defaults."""
    if path is None:
        return PipelineConfig()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=str(path)) from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text: {error.reason}", file=str(path)) from error
    return parse_config(text, file=str(path), env=env)
