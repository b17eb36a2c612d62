"""A sink's per-document work done ahead, in the loop's worker thread (``PreparingSink``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from consumers.runtime.protocols import Document, PreparingSink, WriteResult
from consumers.testing import ScriptedSink
from tests.unit.loop_harness import P0, P1, Harness, expected_ids, expected_writes, good, writes
from tests.unit.test_batch_pipelining import Watching, when


class Prepared(list[Document]):
    """What the test sink's ``prepare`` returns, told apart from any other list."""


@dataclass
class PreparingScriptedSink(ScriptedSink):
    prepared_in: list[str] = field(default_factory=list)
    handed: list[Sequence[Document]] = field(default_factory=list)
    fail_prepare: bool = False

    def prepare(self, documents: list[Document]) -> list[Document]:
        self.prepared_in.append(threading.current_thread().name)
        if self.fail_prepare:
            raise RuntimeError("a bug in prepare")
        return Prepared(documents)

    async def write(self, documents: Sequence[Document]) -> WriteResult:
        self.handed.append(documents)
        return await super().write(documents)


async def test_the_sink_prepares_in_the_worker_thread_and_is_handed_back_what_it_prepared() -> None:
    records = [good(0, 0), good(0, 1), good(1, 0)]
    sink = PreparingScriptedSink()
    assert isinstance(sink, PreparingSink)
    harness = Harness(records, sink=sink)
    await harness.drain()
    assert sink.prepared_in and threading.main_thread().name not in sink.prepared_in
    assert sink.handed and all(isinstance(handed, Prepared) for handed in sink.handed)
    assert writes(sink) == expected_writes(records)
    assert harness.source.committed == {P0: 2, P1: 1}


async def test_documents_of_a_partition_revoked_after_preparing_are_left_out_of_the_write() -> None:
    records = [good(0, 0), good(1, 0)]
    sink = PreparingScriptedSink()
    # revoked while the batch is processed (the loop waits for that thread meanwhile)
    processor = Watching(when(records[1].value, lambda: harness.source.revoke(P1)))
    harness = Harness(records, sink=sink, processor=processor)
    assert await harness.loop.handle(await harness.source.fetch(0))
    (handed,) = sink.handed
    assert not isinstance(handed, Prepared)
    assert writes(sink) == expected_writes(records[:1])
    assert harness.source.committed == {P0: 1}
    assert harness.value("cwlpipe_events_handed_over_total") == 2
    assert harness.books_balance()


async def test_a_prepare_that_fails_leaves_the_documents_to_the_write() -> None:
    records = [good(0, 0), good(1, 0)]
    sink = PreparingScriptedSink(fail_prepare=True)
    harness = Harness(records, sink=sink)
    await harness.drain()
    assert sink.prepared_in
    assert not any(isinstance(handed, Prepared) for handed in sink.handed)
    assert set(sink.stored) == expected_ids(records)
    assert harness.source.committed == {P0: 1, P1: 1}
    assert harness.books_balance()
