"""Which dead letters a replay takes: by stage, by a piece of the reason, by time written.

Parsed from the command line's text once (``ValueError`` with what is accepted), then
applied to each decoded dead letter.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from consumers.kafka.dead_letters import DeadLetterRecord
from pipeline.insights.times import parse_time

__all__ = ["STAGES", "Selection", "parse_selection"]

#: the stages a dead letter can carry (the Avro schema's enum)
STAGES = ("decode", "process", "index", "trace")


@dataclass(frozen=True, slots=True)
class Selection:
    """Empty ``stages``: every stage; ``since_ms``/``until_ms`` bound the dead letter's
    ``time`` (both inclusive); ``reason_contains`` is matched case-insensitively."""

    stages: frozenset[str] = frozenset()
    reason_contains: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def selects(self, record: DeadLetterRecord) -> bool:
        if self.stages and record.stage not in self.stages:
            return False
        if self.reason_contains and self.reason_contains.lower() not in record.reason.lower():
            return False
        if self.since_ms is not None and record.time_ms < self.since_ms:
            return False
        return self.until_ms is None or record.time_ms <= self.until_ms


def parse_selection(
    *,
    stages: Iterable[str] = (),
    reason_contains: str | None = None,
    since: str | None = None,
    until: str | None = None,
    now_ms: int,
) -> Selection:
    """The selection the options describe; ``ValueError`` naming the option at fault."""
    chosen = frozenset(stages)
    unknown = sorted(chosen - set(STAGES))
    if unknown:
        raise ValueError(f"--stage {unknown[0]!r}: use one of {', '.join(STAGES)}")
    since_ms = _time("--since", since, now_ms)
    until_ms = _time("--until", until, now_ms)
    if since_ms is not None and until_ms is not None and since_ms > until_ms:
        raise ValueError(f"--since {since} is after --until {until}")
    return Selection(chosen, reason_contains or None, since_ms, until_ms)


def _time(option: str, text: str | None, now_ms: int) -> int | None:
    if text is None:
        return None
    try:
        return parse_time(text, now_ms)
    except ValueError as error:
        raise ValueError(f"{option}: {error}") from None
