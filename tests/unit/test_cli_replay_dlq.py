"""``cwlpipe replay-dlq``'s expected failures: one line, the documented exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.cli import main


def test_kafka_down_says_so_in_one_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("consumers.cli.replay_dlq.ATTEMPTS", 2)
    config = tmp_path / "c.yaml"
    config.write_text(
        'kafka: {bootstrap_servers: "127.0.0.1:1"}\n'
        'opensearch: {url: "http://127.0.0.1:1", initial_backoff_s: 0.01, max_backoff_s: 0.02}\n'
    )
    assert main(["replay-dlq", "--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert "cwlpipe replay-dlq: Kafka (127.0.0.1:1) not reachable after 2 attempts" in err
    assert "Traceback" not in err


def test_a_replay_needs_a_store_but_a_dry_run_does_not(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text('kafka: {bootstrap_servers: "127.0.0.1:1"}\n')
    assert main(["replay-dlq", "--config", str(config)]) == 2
    assert capsys.readouterr().err.strip() == (
        "cwlpipe replay-dlq: bad config: opensearch.url: needed to replay"
    )


def test_an_unknown_stage_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["replay-dlq", "--stage", "parse"])
    assert exited.value.code == 2
    assert "invalid choice: 'parse'" in capsys.readouterr().err


def test_until_before_since_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay-dlq", "--since", "-1h", "--until", "-2h"]) == 2
    assert capsys.readouterr().err.strip() == (
        "cwlpipe replay-dlq: --since -1h is after --until -2h"
    )
