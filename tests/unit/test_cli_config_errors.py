"""Every command that reads a config stops on a bad one with one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.cli import demo, main
from consumers.config.file import load_config
from pipeline.errors import ConfigError


@pytest.fixture
def bad_config(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("metrics: {port: 99999}\n")
    return path


def one_line(text: str) -> str:
    assert "Traceback" not in text
    lines = text.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("run", []),
        ("process", ["payload.json"]),
        ("retention", []),
        ("produce-samples", []),
    ],
)
def test_a_bad_config_is_one_line_naming_command_file_and_key(
    command: str, extra: list[str], bad_config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([command, *extra, "--config", str(bad_config)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"cwlpipe {command}: bad config: {bad_config}: metrics.port: "
        "must be an integer from 1 to 65535, got 99999"
    )


def test_demo_stops_on_a_broken_shipped_config(
    bad_config: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(demo, "DEFAULT_CONFIG", bad_config)
    monkeypatch.setattr(demo, "tansu_binary", lambda: Path("/bin/true"))
    assert main(["demo"]) == 2
    assert one_line(capsys.readouterr().err).startswith(f"cwlpipe demo: bad config: {bad_config}")


def test_run_without_a_store_url_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("kafka: {group_id: g}\n")
    assert main(["run", "--config", str(config)]) == 2
    assert one_line(capsys.readouterr().err) == (
        f"cwlpipe run: bad config: {config}: opensearch.url: is required by cwlpipe run"
    )


def test_run_refuses_workers_whose_metrics_ports_pass_65535(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("metrics: {port: 65535}\nopensearch: {url: 'http://127.0.0.1:1'}\n")
    assert main(["run", "--config", str(config), "--workers", "2"]) == 2
    assert "65535..65536 go past 65535" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--workers", "0"], "argument --workers: must be an integer >= 1, got '0'"),
        (["run", "--workers", "-3"], "argument --workers: must be an integer >= 1, got '-3'"),
        (["run", "--workers", "two"], "argument --workers: must be an integer, got 'two'"),
        (
            ["produce-samples", "--every", "-1"],
            "argument --every: must be a finite number >= 0, got '-1'",
        ),
        (
            ["produce-samples", "--every", "nan"],
            "argument --every: must be a finite number >= 0, got 'nan'",
        ),
        (
            ["produce-samples", "--partitions", "0"],
            "argument --partitions: must be an integer >= 1, got '0'",
        ),
    ],
)
def test_bad_numbers_on_the_command_line_are_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().splitlines()[-1].endswith(message)


@pytest.mark.parametrize("key", ["ssl_cafile", "ssl_certfile", "ssl_keyfile"])
def test_a_missing_kafka_tls_file_is_named_at_load(tmp_path: Path, key: str) -> None:
    config = tmp_path / "p.yaml"
    missing = tmp_path / "nope.pem"
    config.write_text(f"kafka: {{security_protocol: SSL, {key}: '{missing}'}}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value) == f"{config}: kafka.{key}: no such file: {missing}"


def test_a_missing_opensearch_ca_bundle_is_named_at_load(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text("opensearch: {url: 'https://o:9200', ca_certs: missing-ca.pem}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert str(raised.value) == f"{config}: opensearch.ca_certs: no such file: missing-ca.pem"


def test_a_directory_is_not_a_certificate_file(tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(f"kafka: {{ssl_cafile: '{tmp_path}'}}\n")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(config)


def test_existing_certificate_files_load(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("not checked for content here\n")
    config = tmp_path / "p.yaml"
    config.write_text(f"kafka: {{ssl_cafile: '{ca}'}}\nopensearch: {{ca_certs: '{ca}'}}\n")
    assert load_config(config).kafka.ssl_cafile == str(ca)
