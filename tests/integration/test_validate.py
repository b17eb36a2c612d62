"""``cwlpipe validate --connect`` against a real broker and store: every check passes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from consumers.cli import main
from consumers.devtools.local_servers import local_store
from tests.integration.kafka_helpers import create_topics, unique

pytestmark = pytest.mark.integration


def test_validate_connect_reaches_kafka_and_the_store(
    kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    topic, dlq = unique("logs"), unique("dlq")
    asyncio.run(create_topics(kafka_bootstrap, {topic: 1}))
    with local_store() as store_url:
        config = tmp_path / "c.yaml"
        config.write_text(
            f"kafka: {{bootstrap_servers: '{kafka_bootstrap}', input_topics: [{topic}], "
            f"dead_letter_topic: {dlq}}}\nopensearch: {{url: '{store_url}'}}\n"
        )
        code = main(["validate", "--config", str(config), "--connect", "--timeout", "10"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    checks = [line for line in captured.out.splitlines() if ": ok: " in line]
    assert checks[0].startswith(f"kafka: ok: {kafka_bootstrap}, ")
    assert (
        checks[1]
        == f"kafka topics: ok: input topics {topic} exist; dead-letter topic {dlq} does not exist yet"
    )
    assert checks[2].startswith(f"opensearch: ok: {store_url}, cluster ")
    assert captured.err == ""
