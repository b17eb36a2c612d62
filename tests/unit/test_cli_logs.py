"""Logging: one set-up for every command, text or JSON lines, libraries' routine lines hidden."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from consumers.cli import build_parser, logs, main, run


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    chatty = {name: logging.getLogger(name).level for name in logs.CHATTY}
    filters = {name: list(logging.getLogger(name).filters) for name in ("opensearch", "aiokafka")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in chatty.items():
        logging.getLogger(name).setLevel(was)
    for name, kept in filters.items():
        logging.getLogger(name).filters[:] = kept


def not_found_line(status: int) -> None:
    """What opensearch-py's Connection.log_request_fail logs for a failed request."""
    logging.getLogger("opensearch").warning(
        "%s %s [status:%s request:%.3fs]", "GET", "http://s/_index_template/x", status, 0.001
    )


def test_json_lines_carry_time_level_logger_and_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("info", "json")
    logging.getLogger("cwlpipe").info("retention: %s", "keep cwl-* 30 days")
    entry = orjson.loads(capsys.readouterr().err)
    assert entry["level"] == "info"
    assert entry["logger"] == "cwlpipe"
    assert entry["message"] == "retention: keep cwl-* 30 days"
    assert entry["time"].endswith("+00:00")


def test_json_lines_include_the_exception(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info", "json")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("cwlpipe").exception("failed")
    (line,) = capsys.readouterr().err.splitlines()
    assert "ValueError: boom" in orjson.loads(line)["exception"]


def test_text_lines_name_level_and_logger(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info", "text")
    logging.getLogger("cwlpipe").warning("OpenSearch not ready")
    assert " WARNING cwlpipe OpenSearch not ready" in capsys.readouterr().err


def test_level_warning_hides_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("warning")
    logging.getLogger("cwlpipe").info("routine")
    assert capsys.readouterr().err == ""


def test_aiokafka_group_coordination_is_hidden_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group 'g'")
    assert capsys.readouterr().err == ""


def test_aiokafka_group_coordination_shows_at_debug(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("debug")
    logging.getLogger("aiokafka.consumer.group_coordinator").info("Joined group 'g'")
    assert "Joined group 'g'" in capsys.readouterr().err


def test_opensearch_404_probe_lines_are_hidden_at_info(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info")
    not_found_line(404)
    assert capsys.readouterr().err == ""


def test_opensearch_failed_request_lines_are_left_to_the_runtimes_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("info")
    not_found_line(503)
    logging.getLogger("opensearch").warning(
        "%s %s [status:%s request:%.3fs]",
        "POST",
        "http://s/_bulk",
        "N/A",
        0.001,
        exc_info=ConnectionRefusedError(111, "refused"),
    )
    assert capsys.readouterr().err == ""


def test_aiokafka_unreachable_broker_lines_are_left_to_the_runtime(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("info")
    logging.getLogger("aiokafka").error('Unable connect to "%s:%s": %s', "127.0.0.1", 1, "refused")
    logging.getLogger("aiokafka.client").error("Unable to update metadata from %s", [1])
    assert capsys.readouterr().err == ""
    logging.getLogger("aiokafka").error("something else went wrong")
    assert "something else went wrong" in capsys.readouterr().err


def test_opensearch_404_probe_lines_show_at_debug(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info")
    logs.setup("debug")
    not_found_line(404)
    assert "[status:404" in capsys.readouterr().err


def test_setting_up_twice_keeps_one_handler(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info")
    logs.setup("info")
    logging.getLogger("cwlpipe").warning("once")
    assert capsys.readouterr().err.count("once") == 1


def test_quiet_silences_a_library_for_the_duration(capsys: pytest.CaptureFixture[str]) -> None:
    logs.setup("info")
    with logs.quiet("aiokafka"):
        logging.getLogger("aiokafka").error("Unable connect to node")
    logging.getLogger("aiokafka").error("after")
    err = capsys.readouterr().err
    assert "Unable connect" not in err and "after" in err


def test_log_options_come_before_the_command() -> None:
    args = build_parser().parse_args(["--log-level", "debug", "--log-format", "json", "demo"])
    assert (args.log_level, args.log_format) == ("debug", "json")


def test_the_demo_defaults_to_warning_and_other_commands_to_info() -> None:
    assert build_parser().parse_args(["demo"]).log_level_default == "warning"
    assert build_parser().parse_args(["retention"]).log_level_default == "info"


def test_an_unknown_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--log-level", "verbose", "demo"])
    assert exited.value.code == 2
    assert "argument --log-level: invalid choice: 'verbose'" in capsys.readouterr().err


def test_workers_inherit_the_log_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started: list[list[str]] = []

    class Child:
        def __init__(self, argv: list[str]) -> None:
            started.append(argv)

        def wait(self) -> int:
            return 0

    monkeypatch.setattr(run.subprocess, "Popen", Child)
    monkeypatch.setattr(run.signal, "signal", lambda *_: None)  # leave pytest's handlers alone
    config = tmp_path / "p.yaml"
    config.write_text("opensearch: {url: 'http://127.0.0.1:1'}\n")
    argv = ["--log-level", "debug", "--log-format", "json", "run", "--config", str(config)]
    assert main([*argv, "--workers", "2"]) == 0
    for child in started:
        command = child[child.index("consumers.cli") + 1 :]
        assert command[: command.index("run")] == ["--log-format", "json", "--log-level", "debug"]


def test_a_repeating_library_warning_is_shown_once_per_window_with_a_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    logs.setup("info")
    fetcher = logging.getLogger("aiokafka.consumer.fetcher")
    for _ in range(50):
        fetcher.error("Failed fetch messages from %s: %s", 111, "NodeNotReadyError")
    err = capsys.readouterr().err
    assert err.count("Failed fetch messages from 111") == 1


def test_held_back_repeats_are_counted_when_the_window_reopens() -> None:
    repeats = logs.Repeats(window_s=0.0)
    record = logging.LogRecord("aiokafka", logging.ERROR, "f", 1, "down %s", (1,), None)
    assert repeats.filter(record)
    quiet = logs.Repeats(window_s=3600.0)
    records = [
        logging.LogRecord("aiokafka", logging.ERROR, "f", 1, "down %s", (1,), None)
        for _ in range(3)
    ]
    assert [quiet.filter(r) for r in records] == [True, False, False]
    quiet._seen[("aiokafka", "down %s")] = (-7200.0, 2)  # the window has passed
    again = logging.LogRecord("aiokafka", logging.ERROR, "f", 1, "down %s", (1,), None)
    assert quiet.filter(again)
    assert again.getMessage() == "down 1 (and 2 more like it in the last 3600 s)"


def test_help_shows_plain_text_not_markup(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    assert "``" not in capsys.readouterr().out
