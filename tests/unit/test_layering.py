"""The core never reaches up into the shell, nor does I/O of its own: imports go consumers ->
pipeline, never back (DESIGN.md, "functional core, imperative shell")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CORE = PROJECT_ROOT / "pipeline"
#: what the shell owns: the network clients, the event loop, the HTTP server, exposition
SHELL_ONLY = {
    "consumers",
    "aiokafka",
    "opensearchpy",
    "prometheus_client",
    "aiohttp",
    "asyncio",
    "uvloop",
    "socket",
    "subprocess",
    "fastavro",
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize(
    "module", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE))
)
def test_no_core_module_imports_the_shell_or_its_clients(module: Path) -> None:
    assert imported_roots(module) & SHELL_ONLY == set()
