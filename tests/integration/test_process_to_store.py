"""``cwlpipe process`` with a store configured indexes into it, templates first."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from consumers.cli import main
from consumers.config.service import parse_config
from pipeline.process import Processor

pytestmark = pytest.mark.integration


async def test_process_indexes_the_shared_samples(
    osmem_url: str, tmp_path: Path, shared: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(
        f'opensearch: {{url: "{osmem_url}"}}\ndefault_route: {{retention_days: 30}}\n'
    )
    files = sorted(p for p in (shared / "samples").iterdir() if p.suffix in (".gz", ".json"))
    processor = Processor(parse_config(config.read_text()).core)
    expected: set[str] = set()
    for path in files:
        expected |= {action.id for action in processor.process(path.read_bytes()).actions}
    code = await _run_in_thread(["process", "--config", str(config), *map(str, files)])
    assert code == 0
    client = AsyncOpenSearch(hosts=[osmem_url])
    found = await client.search(index="cwl-*", body={"size": 10_000, "_source": False})
    template = await client.indices.get_index_template(name="cwlpipe-cwl")
    await client.close()
    assert {hit["_id"] for hit in found["hits"]["hits"]} == expected
    assert template["index_templates"][0]["index_template"]["index_patterns"] == ["cwl-2*"]


async def _run_in_thread(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)  # the command runs its own event loop
