"""``cwlpipe xray-listen``'s arguments and refusals: one line each, exit 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.cli import build_parser, main


def test_a_bad_config_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("traces: {input_topics: []}\n")
    assert main(["xray-listen", "--config", str(config)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cwlpipe xray-listen: bad config: {config}: traces.input_topics: ")


def test_the_defaults_are_the_daemons_loopback_address_and_no_metrics() -> None:
    args = build_parser().parse_args(["xray-listen"])
    assert args.listen == ("127.0.0.1", 2000)
    assert args.topic is None and args.metrics_port is None


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("[::1]:3000", ("::1", 3000)),
        ("0.0.0.0:2000", ("0.0.0.0", 2000)),
        ("localhost", ("localhost", 2000)),
    ],
)
def test_listen_takes_host_port_v6_or_a_bare_host(listen: str, expected: tuple[str, int]) -> None:
    assert build_parser().parse_args(["xray-listen", "--listen", listen]).listen == expected


@pytest.mark.parametrize(
    ("option", "value", "reason"),
    [
        ("--listen", ":2000", "needs a host"),
        ("--listen", "127.0.0.1:x", "must be host:port"),
        ("--listen", "127.0.0.1:70000", "port must be 0..65535"),
        ("--metrics-port", "http", "must be a port number"),
        ("--max-queue-bytes", "1000", "must be >= 65536"),
    ],
)
def test_a_bad_argument_is_argparses_one_line_usage_error(
    option: str, value: str, reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["xray-listen", option, value])
    assert stopped.value.code == 2
    assert reason in capsys.readouterr().err.strip().splitlines()[-1]


def test_help_says_udp_has_no_dead_letters_and_what_a_public_address_exposes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["xray-listen", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "UDP cannot be dead-lettered meaningfully" in text
    assert "non-loopback address exposes an unauthenticated port" in text
