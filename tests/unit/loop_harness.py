"""The batch loop on the in-package doubles, shared by the loop's unit tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from consumers.config.service import ServiceConfig
from consumers.prometheus.export import exporter_for
from consumers.prometheus.health import HealthMetrics
from consumers.runtime.batch_loop import BatchLoop
from consumers.runtime.protocols import Partition, Pipeline, Processor, Record
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.testing import MemoryDeadLetters, MemorySource, ScriptedSink
from pipeline.process import Processor as CoreProcessor
from tests.payloads import data_message

TOPIC = "cwl-logs"
P0, P1 = Partition(TOPIC, 0), Partition(TOPIC, 1)
CONFIG = ServiceConfig()


def record(partition: int, offset: int, value: bytes) -> Record:
    return Record(TOPIC, partition, offset, value)


def good(partition: int, offset: int, n: int = 2) -> Record:
    messages = [f"p{partition} o{offset} event {i}" for i in range(n)]
    start = 1_795_000_000_000 + 1000 * (partition * 1000 + offset)
    return record(partition, offset, data_message(messages, start_ms=start))


def surrogate_record(partition: int, offset: int) -> Record:
    """A delivery whose message holds a lone surrogate: it decodes, but no JSON encoder takes it."""
    body = (
        b'{"messageType":"DATA_MESSAGE","owner":"1","logGroup":"/aws/lambda/x","logStream":"s",'
        b'"subscriptionFilters":["f"],"logEvents":[{"id":"1","timestamp":1795000000000,'
        b'"message":"\\ud800"}]}'
    )
    return record(partition, offset, body)


class Harness:
    def __init__(
        self,
        records: Sequence[Record],
        *,
        sink: ScriptedSink | None = None,
        processor: Processor | None = None,
        max_batch_bytes: int = 16 * 1024 * 1024,
        max_records: int = 500,
    ) -> None:
        self.source = MemorySource(records, max_records=max_records)
        self.sink = sink or ScriptedSink()
        self.dead_letters = MemoryDeadLetters()
        self.metrics = HealthMetrics(exporter_for(CONFIG))
        self.stop = StopSignal()
        core = processor or CoreProcessor(CONFIG.core)
        self.loop = BatchLoop(
            self.source,
            [Pipeline("logs", (TOPIC,), core, self.sink)],
            self.dead_letters,
            self.metrics,
            stop=self.stop,
            policy=RetryPolicy(0.001, 0.002),
            max_batch_bytes=max_batch_bytes,
        )

    async def drain(self) -> None:
        """One batch at a time through ``handle``: the loop without pipelining."""
        while not self.source.drained():
            records = await self.source.fetch(0)
            assert records, "nothing left to fetch but not everything is committed"
            await self.loop.handle(records)

    def value(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(name, labels) or 0.0

    def books_balance(self) -> bool:
        """``events_in == indexed + filtered_out + dead_lettered(index) + handed_over``."""
        v = self.value
        filtered = sum(
            sample.value
            for metric in self.metrics.registry.collect()
            if metric.name == "cwlpipe_events_filtered_out"
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
        return v("cwlpipe_events_in_total") == (
            v("cwlpipe_events_indexed_total")
            + filtered
            + v("cwlpipe_dead_letters_total", stage="index")
            + v("cwlpipe_events_handed_over_total")
        )


def expected_ids(records: Sequence[Record]) -> set[str]:
    processor = CoreProcessor(CONFIG.core)
    return {a.id for r in records for a in processor.process(r.value).actions}


def expected_writes(records: Sequence[Record]) -> Counter[tuple[Record, str]]:
    """Each document of ``records`` written once (event ids repeat across test records)."""
    processor = CoreProcessor(CONFIG.core)
    return Counter((r, a.id) for r in records for a in processor.process(r.value).actions)


def writes(sink: ScriptedSink) -> Counter[tuple[Record, str]]:
    """How often each document was acknowledged, by the record it came from."""
    return Counter((document.origin, document.id) for document in sink.acknowledged)
