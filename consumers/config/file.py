"""Reading the configuration file: the one piece of config handling that does I/O.

Files the config names (TLS certificates and keys) are checked here, at
load time, so a wrong path stops start-up with the key that names it instead
of a traceback from the TLS layer after the first connection attempt.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from importlib.resources.abc import Traversable
from pathlib import Path

from consumers.config.service import ServiceConfig, parse_config, service_config
from consumers.resources import DEFAULT_CONFIG
from pipeline.errors import ConfigError

__all__ = ["DEFAULT_CONFIG", "check_files", "load_config"]


def load_config(
    path: str | os.PathLike[str] | Traversable | None, env: Mapping[str, str] | None = None
) -> ServiceConfig:
    """The validated config in ``path`` (``env`` overrides applied); no path: built-in defaults.

    ``path`` may be a package resource (``DEFAULT_CONFIG``), which is not always a file.
    """
    if path is None:
        return service_config({}, "(built-in defaults)", env)
    source = Path(path) if isinstance(path, str | os.PathLike) else path
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=str(path)) from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"not UTF-8 text: {error.reason}", file=str(path)) from error
    config = parse_config(text, file=str(path), env=env)
    check_files(config)
    return config


def check_files(config: ServiceConfig) -> None:
    """Every file the config names exists and can be read (relative paths: from the cwd)."""
    for key, name in _named_files(config):
        if not os.path.isfile(name):
            raise ConfigError(f"no such file: {name}", file=config.file, key=key)
        try:
            with open(name, "rb"):
                pass
        except OSError as error:
            reason = f"cannot read {name}: {error.strerror}"
            raise ConfigError(reason, file=config.file, key=key) from error


def _named_files(config: ServiceConfig) -> Iterator[tuple[str, str]]:
    kafka, opensearch = config.kafka, config.opensearch
    for key, name in (
        ("kafka.ssl_cafile", kafka.ssl_cafile),
        ("kafka.ssl_certfile", kafka.ssl_certfile),
        ("kafka.ssl_keyfile", kafka.ssl_keyfile),
        ("opensearch.ca_certs", opensearch.ca_certs),
    ):
        if name is not None:
            yield key, name
