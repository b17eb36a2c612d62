"""Avro encoding of metric samples published to Kafka (``configs/schemas/metric_sample.avsc``).

Schemaless single-record bodies: the schema travels out of band (the file, or
a registry keyed by its name), as is usual for Kafka values.
"""

from __future__ import annotations

import io
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import fastavro
import orjson

from pipeline.metric_sample import MetricSample

__all__ = ["SCHEMA_FILE", "decode_sample", "encode_sample", "sample_schema"]

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "configs" / "schemas" / "metric_sample.avsc"


@cache
def sample_schema() -> Any:
    return fastavro.parse_schema(orjson.loads(SCHEMA_FILE.read_bytes()))


def encode_sample(sample: MetricSample) -> bytes:
    out = io.BytesIO()
    record = {
        "namespace": sample.namespace,
        "name": sample.name,
        "dimensions": dict(sample.dimensions),
        "value": float(sample.value),
        "unit": sample.unit,
        "timestamp": int(sample.timestamp),
    }
    fastavro.schemaless_writer(out, sample_schema(), record)
    return out.getvalue()


def decode_sample(data: bytes) -> MetricSample:
    record: Any = fastavro.schemaless_reader(io.BytesIO(data), sample_schema(), None)
    timestamp = record["timestamp"]
    if isinstance(timestamp, datetime):  # fastavro reads the logical type as a datetime
        timestamp = round(timestamp.timestamp() * 1000)
    return MetricSample(
        record["namespace"],
        record["name"],
        record["dimensions"],
        record["value"],
        record["unit"],
        timestamp,
    )
