"""``cwlpipe serve``'s arguments: --config and --listen together, a bad address refused early."""

from __future__ import annotations

import pytest

from consumers.cli import build_parser, main


def test_config_and_listen_are_taken_together() -> None:
    args = build_parser().parse_args(["serve", "--config", "c.yaml", "--listen", "[::1]:4586"])
    assert (args.config, args.listen) == ("c.yaml", "[::1]:4586")


def test_a_bad_listen_address_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["serve", "--listen", "4586"])
    assert raised.value.code == 2
    assert "must be host:port" in capsys.readouterr().err


def test_without_a_store_url_it_says_which_key(
    tmp_path: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CWLPIPE_OPENSEARCH_URL", raising=False)
    config = tmp_path / "empty.yaml"  # type: ignore[operator]
    config.write_text("{}\n")
    assert main(["serve", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert (
        err.strip()
        == f"cwlpipe serve: bad config: {config}: opensearch.url: is required by cwlpipe serve (or CWLPIPE_OPENSEARCH_URL)"
    )
