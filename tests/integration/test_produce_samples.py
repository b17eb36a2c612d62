"""``cwlpipe produce-samples`` creates the topics and sends the generated deliveries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from consumers.devtools.sample_data import sample_payloads
from tests.integration.kafka_helpers import read_all, unique

pytestmark = pytest.mark.integration


async def test_produce_samples_sends_every_generated_delivery(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic, dlq = unique("logs"), unique("dlq")
    config = tmp_path / "c.yaml"
    config.write_text(
        f'kafka: {{bootstrap_servers: "{kafka_bootstrap}", input_topics: [{topic}], dead_letter_topic: {dlq}}}\n'
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "consumers.cli",
            "produce-samples",
            "--config",
            str(config),
            "--partitions",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    count = len(sample_payloads(0))
    records = await read_all(kafka_bootstrap, topic, count)
    assert len(records) == count
