"""Logging for every command, set up once from ``cwlpipe --log-level L --log-format F``.

``text`` is for terminals; ``json`` is one orjson object per line (time,
level, logger, message, and the exception when there is one) for log
shippers. Libraries' routine chatter stays below what an operator reads
unless ``--log-level debug``: aiokafka's group coordination (joined, assigned,
coordinator found) is INFO, and opensearch-py logs every 404 of our
existence probes (templates, ISM policies) as a WARNING; failed requests and
unreachable brokers, which the runtime reports itself in one line per attempt,
are dropped from both.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson

__all__ = ["FORMATS", "LEVELS", "Repeats", "add_arguments", "quiet", "setup"]

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
    if not debug:  # on the handler: library records come from child loggers (aiokafka.client)
        handler.addFilter(_reported_by_the_runtime)
        handler.addFilter(Repeats())


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


class Repeats(logging.Filter):
    """A library's warning that repeats (aiokafka logs every failed fetch while a broker is
    away, ~20 a second) is shown once per ``window_s``, saying how many were held back."""

    def __init__(self, window_s: float = 30.0, prefixes: tuple[str, ...] = ("aiokafka",)) -> None:
        super().__init__()
        self.window_s = window_s
        self.prefixes = prefixes
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING or not record.name.startswith(self.prefixes):
            return True
        key = (record.name, str(record.msg))
        now = time.monotonic()
        shown, held = self._seen.get(key, (-self.window_s, 0))
        if now - shown < self.window_s:
            self._seen[key] = (shown, held + 1)
            return False
        self._seen[key] = (now, 0)
        if held:
            record.msg = f"{record.msg} (and {held} more like it in the last {self.window_s:.0f} s)"
        return True


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


def _reported_by_the_runtime(record: logging.LogRecord) -> bool:
    """False for library lines about failures the runtime reports itself."""
    if record.name.startswith("opensearch"):
        return _drop_failed_request(record)
    if record.name.startswith("aiokafka"):
        return _drop_unreachable(record)
    return True


def _drop_failed_request(record: logging.LogRecord) -> bool:
    """opensearch-py's ``%s %s [status:%s request:%.3fs]`` line (with a traceback) for a failed
    request: the runtime reports each failure itself in one line, and a 404 is what our
    existence probes (templates, ISM policies) expect."""
    return not (isinstance(record.msg, str) and record.msg.startswith("%s %s [status:"))


#: aiokafka's ERROR lines for a broker that cannot be reached, which the runtime reports
#: itself, once per attempt, with what it does next
_UNREACHABLE = ("Unable connect to", "Unable to update metadata", "Unable to request metadata")


def _drop_unreachable(record: logging.LogRecord) -> bool:
    return not (isinstance(record.msg, str) and record.msg.startswith(_UNREACHABLE))
