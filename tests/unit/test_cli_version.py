"""``cwlpipe --version`` names the installed distribution's version."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

import consumers.cli as cli
from consumers.cli import main


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"cwlpipe {version('cwl-pipeline')}\n"


def test_a_checkout_that_was_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "version", missing)
    assert cli.installed_version() == "unknown (not installed)"
