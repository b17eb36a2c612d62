"""Metric samples survive the Avro round trip, and the schema file is what the encoder uses."""

from __future__ import annotations

import io

import fastavro
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumers.prometheus.sample_codec import SCHEMA_FILE, decode_sample, encode_sample
from pipeline.metric_sample import STANDARD_UNITS, MetricSample

samples = st.builds(
    MetricSample,
    namespace=st.text(min_size=1, max_size=20),
    name=st.text(min_size=1, max_size=20),
    dimensions=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=3),
    value=st.floats(allow_nan=False),
    unit=st.sampled_from(sorted(STANDARD_UNITS)),
    timestamp=st.integers(min_value=0, max_value=4_102_444_800_000),
)


@given(samples)
def test_round_trip(sample: MetricSample) -> None:
    assert decode_sample(encode_sample(sample)) == sample


def test_encoded_sample_reads_with_the_published_schema_alone() -> None:
    sample = MetricSample(
        "Api", "Latency", {"Route": "/cart"}, 12.5, "Milliseconds", 1_795_000_000_123
    )
    schema = fastavro.parse_schema(orjson.loads(SCHEMA_FILE.read_bytes()))
    record = fastavro.schemaless_reader(io.BytesIO(encode_sample(sample)), schema, None)
    assert record["name"] == "Latency" and record["dimensions"] == {"Route": "/cart"}
    assert record["timestamp"].timestamp() == pytest.approx(1_795_000_000.123)
