"""The trace pipeline's core: record shapes, trace groups that arrive late, the service map,
X-Ray's edge statistics, and the bounds of what waits."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from pipeline.config import config_from_mapping
from pipeline.errors import ConfigError, TraceError
from pipeline.traces import segment_documents, split_daemon_packet
from pipeline.traces.processor import TraceProcessor
from pipeline.traces.service_map import hash_id, isolated, relationships
from pipeline.traces.settings import TracesConfig

TRACE = "1-5759e988-bd862e3fe1be46a994272793"
OTEL_TRACE = "5759e988bd862e3fe1be46a994272793"
HEADER = b'{"format": "json", "version": 1}\n'


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frontend(**extra: Any) -> dict[str, Any]:
    """A root segment calling a traced service (backend) and DynamoDB."""
    segment: dict[str, Any] = {
        "name": "frontend",
        "id": "aaaaaaaaaaaaaaa1",
        "trace_id": TRACE,
        "start_time": 1700000000.0,
        "end_time": 1700000001.0,
        "http": {"request": {"method": "GET", "url": "http://f/", "client_ip": "10.0.0.1"}},
        "subsegments": [
            {
                "name": "backend",
                "id": "bbbbbbbbbbbbbbb1",
                "namespace": "remote",
                "start_time": 1700000000.1,
                "end_time": 1700000000.5,
                "http": {
                    "request": {"traced": True, "url": "http://b/"},
                    "response": {"status": 503},
                },
                "fault": True,
            },
            {
                "name": "DynamoDB",
                "id": "ccccccccccccccc1",
                "namespace": "aws",
                "start_time": 1700000000.6,
                "end_time": 1700000000.625,
                "aws": {"operation": "GetItem", "table_name": "users"},
                "http": {"response": {"status": 400}},
                "error": True,
            },
        ],
    }
    segment.update(extra)
    return segment


def backend() -> dict[str, Any]:
    return {
        "name": "backend",
        "id": "ddddddddddddddd1",
        "trace_id": TRACE,
        "parent_id": "bbbbbbbbbbbbbbb1",
        "start_time": 1700000000.2,
        "end_time": 1700000000.4,
        "origin": "AWS::ECS::Container",
        "fault": True,
    }


def processor(clock: Clock, **settings: Any) -> TraceProcessor:
    return TraceProcessor(TracesConfig(**settings), clock=clock)


def by_index(outcome: Any, fragment: str) -> list[dict[str, Any]]:
    return [a.source for a in outcome.actions if fragment in a.index]


# -- record shapes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        orjson.dumps(backend()),
        orjson.dumps([backend()]),
        orjson.dumps({"TraceSegmentDocuments": [orjson.dumps(backend()).decode()]}),
        HEADER + orjson.dumps(backend()),
        b'{"format":"json","version":1}\n' + orjson.dumps(backend()),
    ],
    ids=["segment", "array", "put-trace-segments", "datagram", "datagram-no-spaces"],
)
def test_every_record_shape_yields_the_same_segment(value: bytes) -> None:
    assert segment_documents(value) == [backend()]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (orjson.dumps(backend()), "no header line"),
        (b"not json\n{}", "header is not JSON"),
        (b'{"format": "xml", "version": 1}\n{}', "is not {"),
        (b'{"format": "json", "version": 2}\n{}', "is not {"),
        (HEADER + b"  ", "no segment document"),
    ],
)
def test_a_bad_datagram_says_why(data: bytes, reason: str) -> None:
    with pytest.raises(TraceError, match=reason):
        split_daemon_packet(data)


def test_a_datagram_body_is_returned_as_sent() -> None:
    body = orjson.dumps(backend())
    assert split_daemon_packet(HEADER + body) == body


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", "empty record value"),
        (b"{", "not valid JSON"),
        (b"[1]", "item 0 of the array is not a segment document"),
        (b'{"TraceSegmentDocuments": "x"}', "TraceSegmentDocuments is not a list"),
        (b'{"TraceSegmentDocuments": [1]}', r"TraceSegmentDocuments\[0\] is not a string"),
        (b'{"TraceSegmentDocuments": ["{"]}', r"TraceSegmentDocuments\[0\] is not valid JSON"),
        (orjson.dumps({**backend(), "trace_id": None}), "segment has no trace_id"),
        (orjson.dumps({**backend(), "id": "xyz"}), "is not 16 hex digits"),
        (orjson.dumps({**backend(), "start_time": "soon"}), "start_time is not a number"),
        (
            orjson.dumps(
                frontend(subsegments=[{**frontend()["subsegments"][0], "namespace": "x"}])
            ),
            "unknown namespace 'x'",
        ),
    ],
)
def test_a_bad_record_is_a_dead_letter_of_stage_trace(value: bytes, reason: str) -> None:
    outcome = processor(Clock()).process(value)
    assert outcome.dead_letter is not None
    assert outcome.dead_letter.stage == "trace"
    assert pytest.approx(0) == len(outcome.actions)
    import re

    assert re.search(reason, outcome.dead_letter.reason), outcome.dead_letter.reason


def test_one_bad_document_dead_letters_the_whole_record() -> None:
    value = orjson.dumps([backend(), {"name": "x"}])
    outcome = processor(Clock()).process(value)
    assert outcome.dead_letter is not None
    assert outcome.actions == []


# -- spans and trace groups ----------------------------------------------------------------------


def test_span_ids_and_day_indices() -> None:
    outcome = processor(Clock()).process(orjson.dumps(frontend()))
    spans = by_index(outcome, "otel-v1-apm-span-2023.11.14")
    assert [s["spanId"] for s in spans] == [
        "aaaaaaaaaaaaaaa1",
        "bbbbbbbbbbbbbbb1",
        "ccccccccccccccc1",
    ]
    ids = [a.id for a in outcome.actions if "span" in a.index and "map" not in a.index]
    assert ids == [f"{OTEL_TRACE}/{s['spanId']}" for s in spans]
    assert outcome.events == len(outcome.actions)
    assert outcome.derived.traces["segments"] == 1
    assert outcome.derived.traces["spans"] == 3


def test_a_span_before_its_root_is_indexed_at_once_and_again_with_the_trace_group() -> None:
    clock = Clock()
    traces = processor(clock)
    early = traces.process(orjson.dumps(backend()))
    (alone,) = by_index(early, "apm-span")
    assert "traceGroup" not in alone
    clock.now += 10
    late = traces.process(orjson.dumps(frontend()))
    again = [s for s in by_index(late, "apm-span") if s["spanId"] == "ddddddddddddddd1"]
    assert len(again) == 1
    assert again[0]["traceGroup"] == "frontend"
    assert again[0]["traceGroupFields.durationInNanos"] == 1_000_000_000
    assert again[0]["traceGroupFields.endTime"] == "2023-11-14T22:13:21.000000000Z"
    assert again[0]["traceGroupFields.statusCode"] == 0
    assert late.derived.traces["trace_group_filled"] == 1
    assert traces.pending_bytes == 0


def test_a_span_after_its_root_gets_the_trace_group_straight_away() -> None:
    traces = processor(Clock())
    traces.process(orjson.dumps(frontend()))
    (span,) = by_index(traces.process(orjson.dumps(backend())), "apm-span")
    assert span["traceGroup"] == "frontend"


def test_a_root_that_never_comes_is_counted_after_the_wait() -> None:
    clock = Clock()
    traces = processor(clock, trace_group_wait_s=5, service_map_wait_s=5)
    traces.process(orjson.dumps(backend()))
    clock.now += 4.9
    assert "trace_group_missing" not in traces.flush().derived.traces
    clock.now += 0.2
    assert traces.flush().derived.traces["trace_group_missing"] == 1
    assert traces.pending_bytes == 0
    assert not traces.waiting()


def test_waiting_spans_are_bounded_in_bytes() -> None:
    traces = processor(Clock(), max_pending_bytes=1 << 20)
    missing = 0
    for n in range(3000):  # ~1.2 kB each: more than 1 MiB in all
        segment = {**backend(), "id": f"{n:016x}", "trace_id": f"1-5759e988-{n:024x}"}
        missing += traces.process(orjson.dumps(segment)).derived.traces.get(
            "trace_group_missing", 0
        )
    assert 0 < traces.pending_bytes <= 1 << 20
    assert missing > 0
    assert len(traces.orphans) + missing == 3000


def test_an_in_progress_segment_is_overwritten_by_the_complete_one() -> None:
    traces = processor(Clock())
    started = {**backend(), "in_progress": True}
    del started["end_time"]
    (first,) = by_index(traces.process(orjson.dumps(started)), "apm-span")
    (done,) = by_index(traces.process(orjson.dumps(backend())), "apm-span")
    assert "endTime" not in first and "durationInNanos" not in first
    assert done["durationInNanos"] == 200_000_000
    assert first["spanId"] == done["spanId"]


def test_a_subsegment_sent_on_its_own_takes_its_segments_service() -> None:
    traces = processor(Clock())
    traces.process(orjson.dumps(backend()))
    alone = {
        "type": "subsegment",
        "name": "S3",
        "id": "eeeeeeeeeeeeeee1",
        "trace_id": TRACE,
        "parent_id": "ddddddddddddddd1",
        "namespace": "aws",
        "start_time": 1700000000.25,
        "end_time": 1700000000.3,
    }
    (span,) = by_index(traces.process(orjson.dumps(alone)), "apm-span")
    assert span["serviceName"] == "backend"
    assert span["resource.attributes.service@name"] == "backend"
    assert span["parentSpanId"] == "ddddddddddddddd1"
    assert span["kind"] == "SPAN_KIND_CLIENT"


# -- service map ---------------------------------------------------------------------------------


def test_data_preppers_documented_hash_ids() -> None:
    """The two relationship documents of Data Prepper's service-map documentation."""
    destination, target = relationships(
        "inventory",
        "SPAN_KIND_CLIENT",
        "database",
        "SPAN_KIND_SERVER",
        "updateItem",
        "client_checkout",
    )
    assert destination["hashId"] == "7/jRp2VF7544pBN6+mK2vw=="
    assert destination["destination"] == {"resource": "updateItem", "domain": "database"}
    assert destination["target"] is None
    assert target["hashId"] == "lZcUyuhGYfnaQqt+r73njA=="
    assert target["serviceName"] == "database"
    assert target["target"] == {"resource": "updateItem", "domain": "database"}


def test_an_isolated_service_hashes_its_nulls_as_java_does() -> None:
    assert isolated("svc", None)["hashId"] == hash_id("svc", None, None, None, None)
    assert isolated("svc", "g")["hashId"] != isolated("svc", None)["hashId"]


def relationships_of(outcome: Any) -> set[tuple[Any, ...]]:
    return {
        (
            d["serviceName"],
            d["kind"],
            d["traceGroupName"],
            None if d["target"] is None else tuple(d["target"].values()),
            None if d["destination"] is None else tuple(d["destination"].values()),
        )
        for d in by_index(outcome, "service-map")
    }


EXPECTED_MAP = {
    ("frontend", None, "frontend", None, None),
    ("backend", None, "frontend", None, None),
    ("frontend", "SPAN_KIND_CLIENT", "frontend", None, ("backend", "backend")),
    ("backend", "SPAN_KIND_SERVER", "frontend", ("backend", "backend"), None),
    ("frontend", "SPAN_KIND_CLIENT", "frontend", None, ("GetItem", "DynamoDB")),
    ("DynamoDB", "SPAN_KIND_SERVER", "frontend", ("GetItem", "DynamoDB"), None),
}


@pytest.mark.parametrize("order", ["root first", "callee first"])
def test_a_two_service_trace_gives_the_relationship_documents(order: str) -> None:
    traces = processor(Clock())
    first, second = (frontend(), backend()) if order == "root first" else (backend(), frontend())
    one = traces.process(orjson.dumps(first))
    two = traces.process(orjson.dumps(second))
    assert relationships_of(one) | relationships_of(two) == EXPECTED_MAP
    ids = [a.id for a in one.actions + two.actions if "service-map" in a.index]
    assert len(ids) == len(set(ids)) == len(EXPECTED_MAP)
    assert all(a.id == a.source["hashId"] for a in one.actions if "service-map" in a.index)


def test_relationships_are_written_once_per_process() -> None:
    traces = processor(Clock())
    traces.process(orjson.dumps(frontend()))
    traces.process(orjson.dumps(backend()))
    again = traces.process(orjson.dumps(backend()))
    assert by_index(again, "service-map") == []


def test_without_a_root_the_edge_is_written_with_no_trace_group_after_the_wait() -> None:
    clock = Clock()
    traces = processor(clock, service_map_wait_s=20)
    caller = frontend(parent_id="fffffffffffffff1")  # not the root: the root never comes
    assert by_index(traces.process(orjson.dumps(caller)), "service-map") == []
    assert by_index(traces.process(orjson.dumps(backend())), "service-map") == []
    clock.now += 21
    flushed = traces.flush()
    assert ("frontend", "SPAN_KIND_CLIENT", None, None, ("backend", "backend")) in (
        relationships_of(flushed)
    )
    assert len(relationships_of(flushed)) == len(EXPECTED_MAP)


def test_daily_service_map_indices_when_it_has_a_retention() -> None:
    traces = processor(Clock(), service_map_retention_days=30)
    outcome = traces.process(orjson.dumps(frontend()))
    assert {a.index for a in outcome.actions if "service-map" in a.index} == {
        "otel-v1-apm-service-map-2023.11.14"
    }


# -- edge statistics -----------------------------------------------------------------------------


def edges(outcome: Any) -> set[tuple[str, str, str, str, float]]:
    return {
        (e.client, e.server, e.server_type, e.outcome, round(e.seconds, 6))
        for e in outcome.derived.edges
    }


@pytest.mark.parametrize("order", ["caller first", "callee first"])
def test_a_traced_call_counts_against_the_service_that_answered(order: str) -> None:
    traces = processor(Clock())
    first, second = (frontend(), backend()) if order == "caller first" else (backend(), frontend())
    found = edges(traces.process(orjson.dumps(first))) | edges(traces.process(orjson.dumps(second)))
    assert found == {
        ("frontend", "backend", "AWS::ECS::Container", "fault", 0.4),
        ("frontend", "DynamoDB", "AWS::DynamoDB", "error", 0.025),
    }


def test_a_traced_call_nobody_answered_counts_against_the_inferred_node() -> None:
    clock = Clock()
    traces = processor(clock, service_map_wait_s=20)
    assert edges(traces.process(orjson.dumps(frontend()))) == {
        ("frontend", "DynamoDB", "AWS::DynamoDB", "error", 0.025)
    }
    clock.now += 21
    flushed = traces.flush()
    assert edges(flushed) == {("frontend", "backend", "remote", "fault", 0.4)}
    assert flushed.derived.traces["edges_inferred"] == 1


def test_a_call_is_counted_once_however_often_its_segment_arrives() -> None:
    traces = processor(Clock())
    traces.process(orjson.dumps(frontend()))
    assert edges(traces.process(orjson.dumps(frontend()))) == set()


@pytest.mark.parametrize(
    ("flags", "status", "outcome"),
    [
        ({}, 200, "ok"),
        ({}, None, "ok"),
        ({"error": True}, 404, "error"),
        ({"error": True, "throttle": True}, 429, "throttle"),
        ({}, 429, "throttle"),
        ({}, 404, "error"),
        ({"fault": True}, 500, "fault"),
        ({}, 502, "fault"),
    ],
)
def test_edge_outcomes_follow_x_rays_buckets(
    flags: dict[str, bool], status: int | None, outcome: str
) -> None:
    call: dict[str, Any] = {
        "name": "api.example.com",
        "id": "ccccccccccccccc2",
        "namespace": "remote",
        "start_time": 1700000000.0,
        "end_time": 1700000000.1,
        **flags,
    }
    if status is not None:
        call["http"] = {"response": {"status": status}}
    segment = frontend(subsegments=[call])
    (edge,) = processor(Clock()).process(orjson.dumps(segment)).derived.edges
    assert (edge.server, edge.server_type, edge.outcome) == ("api.example.com", "remote", outcome)


# -- config --------------------------------------------------------------------------------------


def test_traces_config_defaults_and_errors() -> None:
    traces = config_from_mapping({}).traces
    assert traces.input_topics == ("cwl-traces",)
    assert [r.index_prefix for r in traces.retention_routes()] == ["otel-v1-apm-span"]
    assert traces.retention_routes()[0].retention_days == 7
    daily = config_from_mapping({"traces": {"service_map_retention_days": 90}}).traces
    assert [r.retention_days for r in daily.retention_routes()] == [7, 90]
    assert config_from_mapping({"traces": {"enabled": False}}).traces.retention_routes() == ()
    with pytest.raises(ConfigError, match=r"traces\.span_retention_days: 8 is not one of"):
        config_from_mapping({"traces": {"span_retention_days": 8}})
    with pytest.raises(ConfigError, match=r"traces\.span_index_prefix: 'Spans' is not a valid"):
        config_from_mapping({"traces": {"span_index_prefix": "Spans"}})
    with pytest.raises(ConfigError, match=r"traces\.nope"):
        config_from_mapping({"traces": {"nope": 1}})


def test_lookup_tables_are_bounded_and_what_they_crowd_out_is_written_not_lost() -> None:
    """1 MiB of pending bytes bounds each table to 2,048 entries; 3,000 traced calls whose
    callee never comes all still count, against the inferred node."""
    traces = processor(Clock(), max_pending_bytes=1 << 20)
    counted = 0
    for n in range(3000):
        segment = frontend(id=f"{n:016x}", trace_id=f"1-5759e988-{n:024x}")
        segment["subsegments"] = [{**segment["subsegments"][0], "id": f"{n + 10**6:016x}"}]
        counted += len(traces.process(orjson.dumps(segment)).derived.edges)
    assert max(len(traces.calls), len(traces.spans), len(traces.roots)) <= 2048
    assert counted + len(traces.calls) == 3000
    assert counted + len(traces.flush(everything=True).derived.edges) == 3000


@pytest.mark.parametrize("seed", range(5))
def test_start_milliseconds_read_back_from_the_rfc3339_text(seed: int) -> None:
    import random

    from pipeline.traces.processor import _millis
    from pipeline.traces.spans import rfc3339_nanos

    rng = random.Random(seed)
    for _ in range(2000):
        nanos = rng.randrange(0, 4_000_000_000) * 1_000_000_000 + rng.randrange(10**9)
        assert _millis(rfc3339_nanos(nanos)) == nanos // 1_000_000


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (HEADER + orjson.dumps(backend()), TRACE.encode()),
        (b'{"TraceSegmentDocuments": ["{\\"trace_id\\": \\"1-a\\"}"]}', None),
        (
            orjson.dumps([{"trace_id": "1-5759e988-00000000000000000000000a"}]),
            b"1-5759e988-00000000000000000000000a",
        ),
        (b'{"name": "x"}', None),
    ],
)
def test_trace_key_is_the_first_trace_id(value: bytes, key: bytes | None) -> None:
    from pipeline.traces import trace_key

    assert trace_key(value) == key


def test_span_ids_are_looked_up_within_their_trace() -> None:
    """Span ids are unique within a trace only: a subsegment of another trace with the same
    parent id neither takes the first trace's service nor links to its spans."""
    traces = processor(Clock())
    traces.process(orjson.dumps(backend()))  # ddddddddddddddd1 in TRACE
    other = "1-5759e988-000000000000000000000001"
    alone = {
        "type": "subsegment",
        "name": "S3",
        "id": "eeeeeeeeeeeeeee1",
        "trace_id": other,
        "parent_id": "ddddddddddddddd1",
        "namespace": "aws",
        "start_time": 1700000000.25,
        "end_time": 1700000000.3,
    }
    outcome = traces.process(orjson.dumps(alone))
    (span,) = by_index(outcome, "apm-span")
    assert span["serviceName"] == "S3"  # its owner is not known in its own trace
    assert by_index(outcome, "service-map") == []
