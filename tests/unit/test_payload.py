"""Decoding every form a subscription delivery takes, and refusing the rest with a reason."""

from __future__ import annotations

import base64
import gzip
import zlib
from pathlib import Path
from typing import Any

import orjson
import pytest

from pipeline.payload import LogBatch, PayloadError, decode


def document(log_group: str = "/aws/lambda/fn", **extra: Any) -> dict[str, Any]:
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": log_group,
        "logStream": "2024/01/01/[$LATEST]abc",
        "subscriptionFilters": ["f1"],
        "logEvents": [
            {
                "id": "3462231609969788470654097606882285901266122014164389254",
                "timestamp": 1,
                "message": "START RequestId: x\n",
            },
            {"id": "2", "timestamp": 2, "message": "hello"},
        ],
        **extra,
    }


def gz(value: Any) -> bytes:
    return gzip.compress(orjson.dumps(value))


def only(batches: list[LogBatch]) -> LogBatch:
    assert len(batches) == 1
    return batches[0]


def test_raw_gzip_as_kinesis_and_kafka_carry_it() -> None:
    batch = only(decode(gz(document())))
    assert batch.message_type == "DATA_MESSAGE"
    assert batch.owner == "123456789012"
    assert batch.log_group == "/aws/lambda/fn"
    assert batch.log_stream == "2024/01/01/[$LATEST]abc"
    assert batch.subscription_filters == ("f1",)
    assert batch.policy_level is None
    assert [e.message for e in batch.events] == ["START RequestId: x\n", "hello"]
    assert batch.events[0].id == "3462231609969788470654097606882285901266122014164389254"
    assert batch.events[1].timestamp == 2
    assert batch.events[1].extracted_fields is None


def test_base64_of_gzip_with_and_without_line_breaks() -> None:
    encoded = base64.b64encode(gz(document()))
    assert only(decode(encoded)).log_group == "/aws/lambda/fn"
    wrapped = base64.encodebytes(gz(document()))  # MIME style, a newline every 76 characters
    assert b"\n" in wrapped.strip()
    assert only(decode(wrapped)).log_group == "/aws/lambda/fn"


def test_lambda_event() -> None:
    event = {"awslogs": {"data": base64.b64encode(gz(document())).decode()}}
    assert only(decode(orjson.dumps(event))).log_group == "/aws/lambda/fn"


def test_firehose_http_endpoint_request_gives_one_batch_per_record() -> None:
    request = {
        "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f",
        "timestamp": 1578090901599,
        "records": [
            {"data": base64.b64encode(gz(document("/a"))).decode()},
            {"data": base64.b64encode(gz(document("/b"))).decode()},
        ],
    }
    assert [b.log_group for b in decode(orjson.dumps(request))] == ["/a", "/b"]


def test_kinesis_event_source_event() -> None:
    event = {"Records": [{"kinesis": {"data": base64.b64encode(gz(document("/k"))).decode()}}]}
    assert [b.log_group for b in decode(orjson.dumps(event))] == ["/k"]


def test_gzip_members_back_to_back_as_firehose_writes_s3() -> None:
    data = gz(document("/a")) + gz(document("/b")) + gz(document("/c"))
    assert [b.log_group for b in decode(data)] == ["/a", "/b", "/c"]


def test_documents_back_to_back_inside_one_member() -> None:
    data = gzip.compress(orjson.dumps(document("/a")) + orjson.dumps(document("/b")))
    assert [b.log_group for b in decode(data)] == ["/a", "/b"]


def test_zlib_instead_of_gzip() -> None:
    assert only(decode(zlib.compress(orjson.dumps(document())))).log_group == "/aws/lambda/fn"


def test_plain_json() -> None:
    assert only(decode(orjson.dumps(document()))).log_group == "/aws/lambda/fn"


def test_unknown_keys_are_ignored_and_policy_level_is_kept() -> None:
    doc = document(policyLevel="ACCOUNT_LEVEL_POLICY", somethingNew={"x": 1})
    doc["logEvents"][0]["newField"] = True
    batch = only(decode(gz(doc)))
    assert batch.policy_level == "ACCOUNT_LEVEL_POLICY"
    assert len(batch.events) == 2


def test_extracted_fields_are_kept() -> None:
    doc = document()
    doc["logEvents"][1]["extractedFields"] = {"ip": "1.2.3.4", "status": "200"}
    assert only(decode(gz(doc))).events[1].extracted_fields == {"ip": "1.2.3.4", "status": "200"}


def test_control_message() -> None:
    control = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [
            {
                "id": "",
                "timestamp": 1600110003794,
                "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose.",
            }
        ],
    }
    batch = only(decode(gz(control)))
    assert batch.is_control


def _without(key: str) -> dict[str, Any]:
    doc = document()
    del doc[key]
    return doc


def _event_without(key: str) -> dict[str, Any]:
    doc = document()
    del doc["logEvents"][0][key]
    return doc


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty payload"),
        (b"   \n", "empty payload"),
        (b"\x00\x01binary", "unrecognised payload"),
        (b"H4sI%%%", "unrecognised payload"),
        (b"H4sIAAAA=x", "not valid base64"),
        (gz(document())[:40], "truncated gzip data"),
        (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\x03garbage!", "corrupt gzip data"),
        (gzip.compress(b"{not json"), "invalid JSON"),
        (gzip.compress(b"[1, 2]"), "expected a JSON object, got an array"),
        (gz(_without("logEvents")), "missing logEvents"),
        (gz(_without("logGroup")), "missing logGroup"),
        (gz(document(logEvents={"a": 1})), "logEvents must be an array"),
        (gz(document(messageType="OTHER")), "messageType must be"),
        (gz(_event_without("message")), "logEvents[0] without message"),
        (gz(_event_without("timestamp")), "logEvents[0].timestamp"),
        (gz(document(logEvents=["x"])), "logEvents[0] must be an object"),
        (gz(document()) + b"trailing", "trailing garbage"),
        (orjson.dumps({"awslogs": {"data": "%%%"}}), "awslogs.data: not valid base64"),
        (orjson.dumps({"awslogs": {}}), "awslogs.data must be a non-empty base64 string"),
        (orjson.dumps({"records": [{"data": base64.b64encode(b"x").decode()}]}), "records[0].data"),
        (orjson.dumps({"something": "else"}), "without logEvents"),
    ],
)
def test_bad_payloads_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode(data)
    assert reason in str(caught.value)


def test_inflated_size_limit_is_enforced() -> None:
    data = gz(document(padding="x" * 10_000))
    decode(data, max_inflated_bytes=20_000)
    with pytest.raises(PayloadError, match="exceeds the limit of 5000 bytes"):
        decode(data, max_inflated_bytes=5_000)


def test_limit_counts_all_members_together() -> None:
    member = gz(document(padding="x" * 3_000))
    decode(member, max_inflated_bytes=4_000)
    with pytest.raises(PayloadError, match="exceeds the limit"):
        decode(member * 2, max_inflated_bytes=4_000)


def test_payload_error_is_a_pipeline_error_and_not_retriable() -> None:
    from pipeline.errors import PipelineError

    assert issubclass(PayloadError, PipelineError)
    assert PayloadError.retriable is False


# -- the team's sample files ----------------------------------------------------------------


def test_every_good_sample_decodes(shared: Path) -> None:
    samples = shared / "samples"
    expected = {
        "apigw-access.json": (1, 60),
        "apigw-access.json.gz": (1, 60),
        "apigw-access.lambda-event.json": (1, 60),
        "lambda-kinesis.json": (1, 215),
        "lambda-kinesis.json.gz": (1, 215),
        "control-message.json": (1, 1),
        "control-message.json.gz": (1, 1),
        "firehose-s3-object.gz": (2, 3),
    }
    found = {path.name for path in samples.iterdir() if path.is_file() and path.name != "README.md"}
    assert found == set(expected), "a new sample arrived: add it here"
    for name, (batches, events) in expected.items():
        decoded = decode((samples / name).read_bytes())
        assert (len(decoded), sum(len(b.events) for b in decoded)) == (batches, events), name


def test_sample_extracted_fields_survive(shared: Path) -> None:
    batch = only(decode((shared / "samples" / "apigw-access.json.gz").read_bytes()))
    fields = batch.events[0].extracted_fields
    assert fields is not None and fields["status"] == "500"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bomb.json.gz", "exceeds the limit of 16777216 bytes"),
        ("empty.bin", "empty payload"),
        ("missing-log-events.json.gz", "missing logEvents"),
        ("not-base64.lambda-event.json", "awslogs.data: not valid base64"),
        ("not-json.json.gz", "invalid JSON"),
        ("truncated.json.gz", "truncated gzip data"),
    ],
)
def test_every_bad_sample_is_refused_with_its_reason(shared: Path, name: str, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        decode((shared / "samples" / "bad" / name).read_bytes())
    assert reason in str(caught.value)


def test_no_bad_sample_is_left_untested(shared: Path) -> None:
    names = {p.name for p in (shared / "samples" / "bad").iterdir()} - {"README.md"}
    tested = {
        "bomb.json.gz",
        "empty.bin",
        "missing-log-events.json.gz",
        "not-base64.lambda-event.json",
        "not-json.json.gz",
        "truncated.json.gz",
    }
    assert names == tested
