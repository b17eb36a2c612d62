"""``cwlpipe produce-samples`` creates the topics and sends the generated deliveries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from consumers.devtools.sample_data import sample_payloads
from consumers.devtools.sample_traces import sample_trace_records
from tests.integration.kafka_helpers import read_all, unique

pytestmark = pytest.mark.integration


async def test_produce_samples_sends_every_generated_delivery(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic, dlq, traces = unique("logs"), unique("dlq"), unique("traces")
    config = tmp_path / "c.yaml"
    config.write_text(
        f'kafka: {{bootstrap_servers: "{kafka_bootstrap}", input_topics: [{topic}], dead_letter_topic: {dlq}}}\n'
        f"traces: {{input_topics: [{traces}]}}\n"
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
    trace_count = len(sample_trace_records(0))
    trace_records = await read_all(kafka_bootstrap, traces, trace_count)
    assert len(trace_records) == trace_count
    assert f"produced {trace_count} X-Ray trace records to {traces}" in done.stdout
