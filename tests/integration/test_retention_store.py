"""Retention against the OpenSearch-compatible store: no ISM there, so the sweeper works."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opensearchpy import AsyncOpenSearch

from consumers.config.service import parse_config
from consumers.opensearch.retention import RetentionManager

pytestmark = pytest.mark.integration

CONFIG = """
opensearch: {{url: "{url}"}}
routes:
  - {{name: lambda, log_groups: ["/aws/lambda/*"], index_prefix: lambda, retention_days: 7}}
  - {{name: audit, log_groups: ["/audit/*"], index_prefix: audit, retention_days: never}}
default_route: {{index_prefix: cwl, retention_days: 30}}
"""


def day(days_ago: int) -> str:
    return f"{datetime.now(UTC).date() - timedelta(days=days_ago):%Y.%m.%d}"


@pytest.fixture
async def indices(osmem_url: str) -> list[str]:
    names = [
        f"lambda-{day(8)}",  # expired
        f"lambda-{day(7)}",
        f"cwl-{day(31)}",  # expired
        f"cwl-{day(30)}",
        f"audit-{day(4000)}",  # kept forever
        "cwl-lambda-archive",  # not a day index
    ]
    client = AsyncOpenSearch(hosts=[osmem_url])
    for name in names:
        await client.indices.create(index=name)
    await client.close()
    return names


async def remaining(url: str) -> set[str]:
    client = AsyncOpenSearch(hosts=[url])
    rows = await client.cat.indices(format="json")
    await client.close()
    return {row["index"] for row in rows}


async def test_without_ism_the_sweeper_deletes_expired_day_indices(
    osmem_url: str, indices: list[str]
) -> None:
    config = parse_config(CONFIG.format(url=osmem_url))
    client = AsyncOpenSearch(hosts=[osmem_url])
    plan = await RetentionManager(client).apply(config.router().all_routes)
    await client.close()
    assert not plan.ism
    assert sorted(plan.deleted) == sorted([f"lambda-{day(8)}", f"cwl-{day(31)}"])
    assert await remaining(osmem_url) == set(indices) - set(plan.deleted)


async def test_retention_dry_run_command_changes_nothing(
    osmem_url: str, indices: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG.format(url=osmem_url))
    done = subprocess.run(
        [sys.executable, "-m", "consumers.cli", "retention", "--config", str(config), "--dry-run"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"delete expired index lambda-{day(8)}" in done.stdout
    assert "keep audit-* forever" in done.stdout
    assert await remaining(osmem_url) == set(indices)
