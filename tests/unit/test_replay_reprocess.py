"""One dead letter through the current pipeline, without I/O: documents or a new dead letter."""

from __future__ import annotations

import time

import orjson

from consumers.devtools.sample_data import sample_payloads
from consumers.kafka.dead_letters import DeadLetterRecord
from consumers.replay.replayer import reprocess
from pipeline.config import PipelineConfig
from pipeline.process import Processor

NOW = int(time.time() * 1000)
SAMPLES = {p.name: p.data for p in sample_payloads(NOW)}


def letter(original: bytes, stage: str = "process", **more: object) -> DeadLetterRecord:
    return DeadLetterRecord(original, "logs", 3, 41, stage, "old reason", 1, **more)  # type: ignore[arg-type]


def logs(_: DeadLetterRecord) -> Processor:
    return Processor(PipelineConfig())


def test_a_record_that_now_succeeds_yields_its_documents_from_its_origin() -> None:
    done = reprocess(letter(SAMPLES["lambda.gz"]), logs)
    expected = Processor(PipelineConfig()).process(SAMPLES["lambda.gz"]).actions
    assert done.dead_letter is None
    assert [d.id for d in done.documents] == [a.id for a in expected] != []
    assert {d.origin.where for d in done.documents} == {("logs", 3)}


def test_a_record_that_still_fails_goes_back_with_the_new_reason() -> None:
    done = reprocess(letter(SAMPLES["bad-not-json.gz"], "decode"), logs)
    assert done.documents == []
    assert done.dead_letter is not None
    assert done.dead_letter.stage == "decode" and done.dead_letter.reason != "old reason"
    assert (done.dead_letter.topic, done.dead_letter.partition, done.dead_letter.offset) == (
        "logs",
        3,
        41,
    )
    assert done.dead_letter.time_ms > 1


def test_a_processor_that_raises_is_stage_process() -> None:
    def broken(_: DeadLetterRecord) -> Processor:
        raise RuntimeError("still broken")

    done = reprocess(letter(b"x", "decode"), broken)
    assert done.dead_letter is not None
    assert (done.dead_letter.stage, done.dead_letter.reason) == (
        "process",
        "RuntimeError: still broken",
    )


def test_an_index_dead_letter_is_its_document_again() -> None:
    source = {"message": "hello", "@timestamp": NOW}
    record = letter(orjson.dumps(source), "index", document_id="e-1", index="cwl-2026.11.25")
    done = reprocess(record, logs)
    assert done.dead_letter is None
    [document] = done.documents
    head, body, rest = document.body.split(b"\n")
    assert orjson.loads(head) == {"index": {"_index": "cwl-2026.11.25", "_id": "e-1"}}
    assert orjson.loads(body) == source and rest == b""
    assert (document.index, document.id) == ("cwl-2026.11.25", "e-1")


def test_what_cannot_be_replayed_says_why() -> None:
    truncated = letter(b"head", original_truncated=True, original_size=2_000_000)
    assert reprocess(truncated, logs).dead_letter.reason == "original truncated (2000000 bytes)"  # type: ignore[union-attr]
    nameless = letter(b"{}", "index")
    assert reprocess(nameless, logs).dead_letter.reason == "no index or document id to replay"  # type: ignore[union-attr]
