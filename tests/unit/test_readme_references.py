"""What the README names exists: files of the repository and Python names of the package.

The README is what users copy from; a path or module it names that was moved
or removed (as the metric-sample Avro codec was) fails here instead of there.
"""

from __future__ import annotations

import importlib
import re

import pytest

from tests.conftest import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
TOP_FOLDERS = ("configs", "consumers", "pipeline", "tests", "bench", "scripts")
QUOTED = re.findall(r"`([^`\s]+)`", README)
PATHS = sorted({q for q in QUOTED if q.split("/")[0] in TOP_FOLDERS and "/" in q})
DOTTED = sorted(
    {q.split("(")[0] for q in QUOTED if re.fullmatch(r"(consumers|pipeline)(\.\w+)+(\(.*\))?", q)}
)


def test_the_readme_names_files_and_python_names() -> None:
    # guards the two parametrised tests below against a pattern that silently matches nothing
    assert "configs/pipeline.yaml" in PATHS
    assert "pipeline.emf.parse_emf" in DOTTED


@pytest.mark.parametrize("path", PATHS)
def test_a_path_the_readme_names_exists(path: str) -> None:
    assert (PROJECT_ROOT / path).exists(), path


@pytest.mark.parametrize("dotted", DOTTED)
def test_a_python_name_the_readme_names_resolves(dotted: str) -> None:
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        try:
            found: object = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return
    pytest.fail(f"{dotted} does not import")
