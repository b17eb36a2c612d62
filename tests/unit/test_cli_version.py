"""``cwlpipe --version`` names the installed distribution's version and which core it runs."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import pytest

import consumers.cli as cli
import pipeline
from consumers.cli import main


def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    # the development install is pure Python (CWLPIPE_PURE_PYTHON=1 in the Makefile)
    core = "core compiled with mypyc" if pipeline.compiled() else "pure-Python core"
    assert out == f"cwlpipe {version('cwl-pipeline')} ({core})\n"


def test_a_checkout_that_was_never_installed_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> str:
        raise PackageNotFoundError(name)

    monkeypatch.setattr(cli, "version", missing)
    assert cli.installed_version() == "unknown (not installed)"
