"""The project's error hierarchy.

Callers branch on the type and on ``retriable``, never on message text: a
retriable error is worth trying again (a store that is saturated), a
non-retriable one is a property of the input and goes to the dead letters.
"""

from __future__ import annotations


class PipelineError(Exception):
    """Base of every error the pipeline raises on purpose."""

    retriable: bool = False


class PayloadError(PipelineError):
    """A subscription payload cannot be decoded; the reason says why."""


class PatternError(PipelineError):
    """A filter pattern is invalid.

    ``reason`` is AWS's wording where it is known (for example
    ``Invalid character(s) in term '*'``), ``position`` the 0-based
    character offset in ``pattern`` where the problem was found.
    """

    def __init__(self, reason: str, position: int, pattern: str) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position
        self.pattern = pattern

    def caret(self) -> str:
        """The pattern with a caret under the failing character, for terminals."""
        return f"{self.pattern}\n{' ' * self.position}^"


class MetricFilterError(PipelineError):
    """A metric filter definition is invalid (AWS's validation message).

    ``field`` names the definition's top-level key at fault when one is
    (``filterPattern``), so a config error can point at it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class ConfigError(PipelineError):
    """A configuration file is invalid: which file, which key and why."""

    def __init__(self, reason: str, *, file: str | None = None, key: str | None = None) -> None:
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {reason}" if where else reason)
        self.reason = reason
        self.file = file
        self.key = key


class TraceError(PipelineError):
    """An X-Ray segment document (or a daemon datagram) is invalid; the reason says why.

    Raised by :func:`pipeline.traces.spans_from_segment` and
    :func:`pipeline.traces.split_daemon_packet`; the daemon turns it into a dead
    letter of stage ``trace``.
    """


class InsightsError(PipelineError):
    """A Logs Insights query is invalid (or cannot run): ``reason`` names what was expected,
    ``position`` the 0-based offset in ``query`` where the problem is."""

    def __init__(self, reason: str, position: int, query: str) -> None:
        super().__init__(f"{reason} (at position {position})")
        self.reason = reason
        self.position = position
        self.query = query

    def caret(self) -> str:
        """The query's line holding the error, with a caret under it, for terminals."""
        start = self.query.rfind("\n", 0, self.position) + 1
        end = self.query.find("\n", self.position)
        line = self.query[start : end if end >= 0 else len(self.query)]
        return f"{line}\n{' ' * (self.position - start)}^"
