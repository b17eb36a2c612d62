"""One-shot commands against neighbours that are not there: one line per attempt, one line at the
end, exit 1, never a traceback (nothing listens on port 1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.cli import main
from consumers.devtools.sample_data import write_sample_files


def test_process_with_the_store_down_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        'opensearch: {url: "http://admin:s3cret@127.0.0.1:1", initial_backoff_s: 0.01,'
        " max_backoff_s: 0.02}\n"
    )
    files = write_sample_files(tmp_path / "samples", 1_795_000_000_000)
    good = [str(tmp_path / "samples" / p.name) for p in files if p.good]
    assert main(["process", "--config", str(config), *good]) == 1
    err = capsys.readouterr().err
    assert "cwlpipe process: OpenSearch (http://admin:***@127.0.0.1:1) not reachable after" in err
    assert "cannot connect to 127.0.0.1:1: Connect call failed" in err or "refused" in err
    assert "s3cret" not in err and "Traceback" not in err


def test_produce_samples_with_kafka_down_says_so_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("consumers.cli.produce_samples.ATTEMPTS", 2)
    monkeypatch.setenv("CWLPIPE_KAFKA_BOOTSTRAP", "127.0.0.1:1")
    assert main(["produce-samples"]) == 1
    err = capsys.readouterr().err
    assert "cwlpipe produce-samples: Kafka (127.0.0.1:1) not reachable after 2 attempts" in err
    assert "Traceback" not in err


def test_process_refuses_a_metrics_file_it_could_not_write_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = write_sample_files(tmp_path / "samples", 1_795_000_000_000)
    good = [str(tmp_path / "samples" / p.name) for p in files if p.good]
    target = str(tmp_path / "missing" / "m.prom")
    assert main(["process", "--documents", "none", "--metrics-out", target, *good]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"cwlpipe process: --metrics-out {target}: cannot write there"
