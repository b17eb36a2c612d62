"""Logs and traces as two pipelines on one source and one loop, on the in-package doubles:
spans and service-map documents written, bad trace records dead-lettered with stage
``trace``, expired waits flushed when no record comes, edge statistics exported."""

from __future__ import annotations

import asyncio

import orjson

from consumers.config.service import ServiceConfig
from consumers.kafka.dead_letters import decode_dead_letter, encode_dead_letter
from consumers.prometheus.export import exporter_for
from consumers.prometheus.health import HealthMetrics
from consumers.runtime.batch_loop import BatchLoop
from consumers.runtime.protocols import Partition, Pipeline, Record
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.testing import MemoryDeadLetters, MemorySource, ScriptedSink
from pipeline.process import Processor
from pipeline.traces.processor import TraceProcessor
from pipeline.traces.settings import TracesConfig
from tests.payloads import data_message
from tests.unit.test_traces_processor import OTEL_TRACE, Clock, backend, frontend

LOGS, TRACES = "cwl-logs", "cwl-traces"
CONFIG = ServiceConfig()
GUARD_S = 20.0


class TwoPipelines:
    def __init__(self, records: list[Record], clock: Clock, **settings: float) -> None:
        self.source = MemorySource(records)
        self.logs, self.traces = ScriptedSink(), ScriptedSink()
        self.dead_letters = MemoryDeadLetters()
        self.metrics = HealthMetrics(exporter_for(CONFIG))
        self.stop = StopSignal()
        self.processor = TraceProcessor(TracesConfig(**settings), clock=clock)
        self.loop = BatchLoop(
            self.source,
            [
                Pipeline("logs", (LOGS,), Processor(CONFIG.core), self.logs),
                Pipeline("traces", (TRACES,), self.processor, self.traces),
            ],
            self.dead_letters,
            self.metrics,
            stop=self.stop,
            policy=RetryPolicy(0.001, 0.002),
            max_batch_bytes=16 << 20,
        )

    def value(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0


async def test_logs_and_traces_go_to_their_own_pipelines_and_offsets_are_committed() -> None:
    records = [
        Record(LOGS, 0, 0, data_message(["hello"], start_ms=1_795_000_000_000)),
        Record(TRACES, 0, 0, orjson.dumps(frontend())),
        Record(TRACES, 0, 1, b'{"format": "json", "version": 1}\n' + orjson.dumps(backend())),
        Record(TRACES, 1, 0, b'{"format": "json", "version": 1}\n{"name": "no ids"}'),
    ]
    pipes = TwoPipelines(records, Clock())
    await asyncio.wait_for(pipes.loop.run(until_idle=0.05), GUARD_S)
    assert len(pipes.logs.stored) == 1
    span_ids = {i for i in pipes.traces.stored if i.startswith(OTEL_TRACE + "/")}
    assert span_ids == {
        f"{OTEL_TRACE}/{s}"
        for s in ("aaaaaaaaaaaaaaa1", "bbbbbbbbbbbbbbb1", "ccccccccccccccc1", "ddddddddddddddd1")
    }
    assert len(pipes.traces.stored) - len(span_ids) == 6  # the service map (see processor tests)
    (dead,) = pipes.dead_letters.records
    assert (dead.topic, dead.partition, dead.offset, dead.stage) == (TRACES, 1, 0, "trace")
    assert "segment has no trace_id" in dead.reason
    assert decode_dead_letter(encode_dead_letter(dead)).stage == "trace"
    assert pipes.source.committed == {
        Partition(LOGS, 0): 1,
        Partition(TRACES, 0): 2,
        Partition(TRACES, 1): 1,
    }
    assert pipes.value("cwlpipe_trace_segments_total") == 2
    assert pipes.value("cwlpipe_trace_spans_total") == 4
    labels = {"client": "frontend", "server": "backend", "server_type": "AWS::ECS::Container"}
    assert pipes.value("cwlpipe_xray_edge_requests_total", **labels) == 1
    assert pipes.value("cwlpipe_xray_edge_fault_total", **labels) == 1
    assert pipes.value("cwlpipe_xray_edge_ok_total", **labels) == 0
    assert pipes.value("cwlpipe_xray_edge_response_time_seconds_bucket", le="0.5", **labels) == 1
    assert pipes.value("cwlpipe_xray_edge_response_time_seconds_bucket", le="0.25", **labels) == 0


async def test_expired_waits_are_written_when_no_record_comes() -> None:
    """A traced call whose callee never arrives: after the wait, the loop's idle flush counts
    it against the inferred node and writes the inferred node's map documents."""
    clock = Clock()
    records = [Record(TRACES, 0, 0, orjson.dumps(frontend()))]
    pipes = TwoPipelines(records, clock, service_map_wait_s=5)
    await asyncio.wait_for(pipes.loop.run(until_idle=0.05), GUARD_S)
    before = set(pipes.traces.stored)
    remote = {"client": "frontend", "server": "backend", "server_type": "remote"}
    assert pipes.value("cwlpipe_xray_edge_requests_total", **remote) == 0
    assert pipes.processor.waiting()
    clock.now += 6
    pipes.loop._flushed = 0.0  # the loop flushes at most once a second: let it now
    await asyncio.wait_for(pipes.loop.run(until_idle=0.05), GUARD_S)
    written = [
        orjson.loads(pipes.traces.stored[i].split(b"\n")[1])
        for i in set(pipes.traces.stored) - before
    ]
    assert {(d["serviceName"], d["kind"]) for d in written} == {
        ("frontend", "SPAN_KIND_CLIENT"),
        ("backend", "SPAN_KIND_SERVER"),
    }
    assert pipes.value("cwlpipe_xray_edge_requests_total", **remote) == 1
    assert pipes.value("cwlpipe_trace_edges_inferred_total") == 1
    assert not pipes.processor.waiting()


async def test_a_stop_writes_what_still_waits_rather_than_lose_it() -> None:
    """The callee's edge waits for a trace group that never comes; the stop writes it
    without one, and the traced call with no answer counts against the inferred node."""
    caller = frontend(parent_id="fffffffffffffff1")  # the root is never sent
    records = [
        Record(TRACES, 0, 0, orjson.dumps(caller)),
        Record(TRACES, 0, 1, orjson.dumps(backend())),
    ]
    pipes = TwoPipelines(records, Clock(), service_map_wait_s=600)
    await asyncio.wait_for(pipes.loop.run(until_idle=0.05), GUARD_S)
    assert not [b for b in pipes.traces.stored.values() if b"hashId" in b]
    pipes.stop.request(5)
    await asyncio.wait_for(pipes.loop.run(), GUARD_S)
    written = [
        orjson.loads(b.split(b"\n")[1]) for b in pipes.traces.stored.values() if b"hashId" in b
    ]
    assert {d["traceGroupName"] for d in written} == {None}
    assert ("frontend", "SPAN_KIND_CLIENT") in {(d["serviceName"], d["kind"]) for d in written}
    assert not pipes.processor.waiting()
