"""Which dead letters ``cwlpipe replay-dlq`` takes: stage, reason, time window; bad options."""

from __future__ import annotations

import pytest

from consumers.cli import build_parser, join_relative_times
from consumers.kafka.dead_letters import DeadLetterRecord
from consumers.replay.selection import Selection, parse_selection

NOW = 1_764_000_000_000
HOUR = 3_600_000


def letter(
    stage: str = "process", reason: str = "KeyError: 'x'", time_ms: int = NOW
) -> DeadLetterRecord:
    return DeadLetterRecord(b"{}", "logs", 0, 7, stage, reason, time_ms)


def test_no_options_select_everything() -> None:
    selection = parse_selection(now_ms=NOW)
    assert selection == Selection()
    assert all(
        selection.selects(letter(stage)) for stage in ("decode", "process", "index", "trace")
    )


def test_stages() -> None:
    selection = parse_selection(stages=["decode", "index"], now_ms=NOW)
    assert selection.selects(letter("decode"))
    assert selection.selects(letter("index"))
    assert not selection.selects(letter("process"))
    assert not selection.selects(letter("trace"))


def test_reason_contains_ignores_case() -> None:
    selection = parse_selection(reason_contains="keyerror", now_ms=NOW)
    assert selection.selects(letter(reason="KeyError: 'x'"))
    assert not selection.selects(letter(reason="HTTP 400: mapper_parsing_exception"))


def test_since_and_until_bound_the_time_inclusively() -> None:
    selection = parse_selection(since="-2h", until="-1h", now_ms=NOW)
    assert selection.since_ms == NOW - 2 * HOUR and selection.until_ms == NOW - HOUR
    assert selection.selects(letter(time_ms=NOW - 2 * HOUR))
    assert selection.selects(letter(time_ms=NOW - HOUR))
    assert not selection.selects(letter(time_ms=NOW - 2 * HOUR - 1))
    assert not selection.selects(letter(time_ms=NOW - HOUR + 1))


def test_iso_times() -> None:
    selection = parse_selection(since="2025-11-24T16:00:00Z", now_ms=NOW)
    assert selection.since_ms == 1_764_000_000_000
    assert not selection.selects(letter(time_ms=NOW - 1))


def test_every_filter_must_hold() -> None:
    selection = parse_selection(stages=["process"], reason_contains="bug", since="-1h", now_ms=NOW)
    assert selection.selects(letter("process", "bug 17"))
    assert not selection.selects(letter("decode", "bug 17"))
    assert not selection.selects(letter("process", "other"))
    assert not selection.selects(letter("process", "bug 17", NOW - 2 * HOUR))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stages": ["parse"]}, "--stage 'parse': use one of decode, process, index, trace"),
        ({"since": "soon"}, "--since: 'soon' is not a time"),
        ({"until": "later"}, "--until: 'later' is not a time"),
        ({"since": "-1h", "until": "-2h"}, "--since -1h is after --until -2h"),
    ],
)
def test_bad_options_say_which(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_selection(now_ms=NOW, **options)  # type: ignore[arg-type]
    assert str(raised.value).startswith(message)


def test_relative_times_are_values_on_the_command_line() -> None:
    argv = ["replay-dlq", "--since", "-1h", "--until", "-30m", "--stage", "index", "--dry-run"]
    args = build_parser().parse_args(join_relative_times(argv))  # as main() parses them
    assert (args.since, args.until, args.stage, args.dry_run) == ("-1h", "-30m", ["index"], True)
