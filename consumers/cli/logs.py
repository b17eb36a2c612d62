"""Logging for every command, set up once from ``cwlpipe --log-level L --log-format F``.

``text`` is for terminals; ``json`` is one orjson object per line (time,
level, logger, message, and the exception when there is one) for log
shippers. Libraries' routine chatter stays below what an operator reads
unless ``--log-level debug``: aiokafka's group coordination (joined, assigned,
coordinator found) is INFO, and opensearch-py logs every 404 of our
existence probes (templates, ISM policies) as a WARNING.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson

__all__ = ["FORMATS", "LEVELS", "add_arguments", "quiet", "setup"]

LEVELS = ("debug", "info", "warning", "error")
FORMATS = ("text", "json")
#: loggers whose INFO is routine; shown only at debug
CHATTY = ("aiokafka", "opensearch")
_TEXT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The global options, given before the sub-command."""
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=None,
        help="least severe level logged (default: info; warning for demo)",
    )
    parser.add_argument("--log-format", choices=FORMATS, default="text", help="default: text")


def setup(level: str = "info", log_format: str = "text") -> None:
    """Route every logger to stderr at ``level``, in ``log_format``; safe to call again."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _Stderr)]:
        root.removeHandler(handler)
    handler = _Stderr()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(_TEXT))
    root.addHandler(handler)
    root.setLevel(level.upper())
    debug = level == "debug"
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.NOTSET if debug else logging.WARNING)
    store = logging.getLogger("opensearch")
    if debug:
        store.removeFilter(_drop_not_found)
    else:
        store.addFilter(_drop_not_found)


@contextlib.contextmanager
def quiet(*names: str) -> Iterator[None]:
    """Silence ``names`` while a check reports their failure itself (not at debug)."""
    if logging.getLogger().isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was in zip(loggers, before, strict=True):
            logger.disabled = was


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time`` (UTC, ISO 8601), ``level``, ``logger``, ``message``."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


class _Stderr(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (tests swap it), like logging's last resort."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # logging must never take the service down
            self.handleError(record)


def _drop_not_found(record: logging.LogRecord) -> bool:
    """opensearch-py's ``%s %s [status:%s request:%.3fs]`` line for a 404: our probes expect it."""
    args = record.args
    return not (isinstance(args, tuple) and len(args) >= 3 and args[2] == 404)
