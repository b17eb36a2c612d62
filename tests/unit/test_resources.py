"""The files the package reads at run time ship inside it, and the repository's configs/ are links.

A wheel installed anywhere must find its default config and Avro schema; a
checkout keeps them at the paths the README and docker-compose name, without
a second copy that could drift.
"""

from __future__ import annotations

import tomllib
import zipfile
from pathlib import Path

import fastavro
import orjson

from consumers.config.file import load_config
from consumers.kafka.dead_letters import SCHEMA_FILE
from consumers.resources import DEAD_LETTER_SCHEMA, DEFAULT_CONFIG
from tests.conftest import PROJECT_ROOT

RESOURCES = PROJECT_ROOT / "consumers" / "resources"


def test_configs_are_links_to_the_packaged_files() -> None:
    for link, resource in (
        ("configs/pipeline.yaml", DEFAULT_CONFIG),
        ("configs/schemas/dead_letter.avsc", DEAD_LETTER_SCHEMA),
    ):
        path = PROJECT_ROOT / link
        assert path.is_symlink(), f"{link} is a copy, not a link to the packaged file"
        assert path.resolve() == Path(str(resource)).resolve()


def test_every_resource_file_is_declared_as_package_data() -> None:
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    declared = set(pyproject["tool"]["setuptools"]["package-data"]["consumers.resources"])
    shipped = {p.name for p in RESOURCES.iterdir() if p.is_file() and p.suffix != ".py"}
    assert shipped == declared


def test_the_dead_letter_writer_reads_the_packaged_schema() -> None:
    assert SCHEMA_FILE == DEAD_LETTER_SCHEMA
    schema = fastavro.parse_schema(orjson.loads(DEAD_LETTER_SCHEMA.read_bytes()))
    assert schema["name"] == "io.cwlpipeline.DeadLetter"


def test_a_config_resource_that_is_not_a_file_loads(tmp_path: Path) -> None:
    # importlib.resources may hand out a zip member (zipimport); load_config reads it as such
    archive = tmp_path / "bundle.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("pipeline.yaml", DEFAULT_CONFIG.read_text(encoding="utf-8"))
    member = zipfile.Path(archive, "pipeline.yaml")
    loaded, packaged = load_config(member), load_config(DEFAULT_CONFIG)
    assert (loaded.kafka, loaded.metrics) == (packaged.kafka, packaged.metrics)
    assert [r.name for r in loaded.core.routes] == [r.name for r in packaged.core.routes]
