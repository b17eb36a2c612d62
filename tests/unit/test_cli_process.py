"""``cwlpipe process FILE... --config C --metrics-out F``: offline replay to exposition text."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from consumers.cli import main
from consumers.cli import process as process_command
from consumers.runtime.protocols import Document
from pipeline.config import PipelineConfig
from pipeline.process import Outcome, Processor
from tests.conftest import PROJECT_ROOT
from tests.payloads import data_message

REPORT = (
    "REPORT RequestId: {rid}\tDuration: 1500.0 ms\tBilled Duration: 1500 ms\t"
    "Memory Size: 1024 MB\tMax Memory Used: 100 MB{extra}"
)
LINES = [
    REPORT.format(rid="a1", extra="\tInit Duration: 300.0 ms"),
    REPORT.format(rid="a2", extra="\tStatus: timeout"),
    '{"latency_ms": 120, "status": 503, "route": "/cart"}',
    '{"latency_ms": 80, "status": 200, "route": "/cart"}',
]


def values(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            labels = tuple(sorted((k, v) for k, v in sample.labels.items() if v))
            found[(sample.name, labels)] = sample.value
    return found


@pytest.fixture
def payload(tmp_path: Path) -> Path:
    path = tmp_path / "delivery.gz"
    path.write_bytes(data_message(LINES))
    return path


def test_process_writes_lambda_and_filter_metrics(
    payload: Path, tmp_path: Path, promtool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "metrics.prom"
    config = PROJECT_ROOT / "configs" / "examples" / "metric-filters.yaml"
    code = main(["process", str(payload), "--config", str(config), "--metrics-out", str(out)])
    assert code == 0
    found = values(out)
    orders = (("function", "orders"),)
    assert found[("cwlpipe_lambda_invocations_total", orders)] == 2
    assert found[("cwlpipe_lambda_timeouts_total", orders)] == 1
    assert found[("cwlpipe_lambda_cold_starts_total", orders)] == 1
    assert found[("api_server_errors_count", (("route", "/cart"),))] == 1
    assert found[("api_latency_seconds_bucket", (("le", "0.1"),))] == 1
    assert found[("api_latency_seconds_sum", ())] == pytest.approx(0.2)
    assert "4 events" in capsys.readouterr().err
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=out.read_bytes(), capture_output=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == b""  # no lint warnings either


def test_refused_file_is_reported_and_the_rest_processed(
    payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.gz"
    broken.write_bytes(payload.read_bytes()[:40])
    out = tmp_path / "m.prom"
    assert main(["process", str(broken), str(payload), "--metrics-out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"{broken}: refused: truncated gzip" in err
    assert values(out)[("cwlpipe_lambda_invocations_total", (("function", "orders"),))] == 2


def test_bad_config_stops_with_file_and_key(
    payload: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("metrics: {max_label_sets: -3}\n")
    assert main(["process", str(payload), "--config", str(config)]) == 2
    assert f"{config}: metrics.max_label_sets: must be an integer >= 1" in capsys.readouterr().err


def test_shared_samples_process_and_pass_promtool(
    shared: Path, tmp_path: Path, promtool: str
) -> None:
    files = sorted(
        str(p) for p in (shared / "samples").iterdir() if p.is_file() and p.suffix != ".md"
    )
    out = tmp_path / "m.prom"
    assert main(["process", *files, "--metrics-out", str(out)]) == 0
    found = values(out)
    assert any(name == "cwlpipe_lambda_invocations_total" for name, _ in found)
    checked = subprocess.run([promtool, "check", "metrics"], input=out.read_bytes(), check=False)
    assert checked.returncode == 0


def test_without_a_store_documents_go_to_stdout_as_bulk_ndjson(
    payload: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["process", str(payload)]) == 0
    out = capsysbinary.readouterr().out.decode()
    lines = [orjson.loads(line) for line in out.splitlines()]
    actions, sources = lines[::2], lines[1::2]
    assert [a["index"]["_id"] for a in actions] == [
        str(36_000_000_000_000_000 + i) for i in range(4)
    ]
    assert all(a["index"]["_index"].startswith("cwl-") for a in actions)
    assert sources[2]["latency_ms"] == 120 and sources[2]["@log_group"] == "/aws/lambda/orders"
    assert sources[0]["lambda"]["type"] == "report"


def test_documents_none_prints_nothing_and_stdout_twice_is_refused(
    payload: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    assert main(["process", str(payload), "--documents", "none"]) == 0
    assert capsysbinary.readouterr().out == b""
    assert main(["process", str(payload), "--metrics-out", "-"]) == 2
    assert main(["process", str(payload), "--documents", "opensearch"]) == 2


def test_progress_for_many_files(payload: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["process", "--documents", "none", *[str(payload)] * 25]) == 0
    err = capsys.readouterr().err
    assert f"[25/25] {payload}: 4 events, 4 documents" in err


def test_documents_are_delivered_in_slices_all_in_order(
    payload: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process_command, "DELIVERY_SLICE", 3)  # 4 documents: two slices
    assert main(["process", str(payload)]) == 0
    lines = capsysbinary.readouterr().out.decode().splitlines()
    assert [orjson.loads(line)["index"]["_id"] for line in lines[::2]] == [
        str(36_000_000_000_000_000 + i) for i in range(4)
    ]


def firehose_object(tmp_path: Path, members: list[bytes]) -> Path:
    path = tmp_path / "firehose-object"
    path.write_bytes(b"".join(members))
    return path


def member(first_id: int, n: int) -> bytes:
    """A delivery of ``n`` events whose ids start at ``36_000_000_000_000_000 + first_id``."""
    document = orjson.loads(gzip.decompress(data_message([f"line {i}" for i in range(n)])))
    for i, event in enumerate(document["logEvents"]):
        event["id"] = str(36_000_000_000_000_000 + first_id + i)
    return gzip.compress(orjson.dumps(document))


def ids(ndjson: bytes) -> list[int]:
    lines = ndjson.decode().splitlines()
    return [int(orjson.loads(line)["index"]["_id"]) - 36_000_000_000_000_000 for line in lines[::2]]


def test_a_firehose_object_is_processed_one_member_at_a_time(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    members = [member(0, 3), member(3, 2), member(5, 4)]
    seen: list[bytes] = []

    class Spying:  # a wrapper: the compiled core's classes take no interpreted subclass
        def __init__(self, config: PipelineConfig) -> None:
            self.core = Processor(config)
            self.max_inflated_bytes = self.core.max_inflated_bytes

        def process(self, value: bytes | None) -> Outcome:
            seen.append(value or b"")
            return self.core.process(value)

    monkeypatch.setattr(process_command, "Processor", Spying)
    assert main(["process", str(firehose_object(tmp_path, members))]) == 0
    assert seen == [gzip.decompress(m) for m in members]
    assert ids(capsysbinary.readouterr().out) == list(range(9))


def test_documents_of_small_members_go_out_in_full_slices_in_order(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    slices: list[int] = []
    deliver = process_command._deliver_slice

    async def counting(documents: list[Document], *rest: Any) -> None:
        slices.append(len(documents))
        await deliver(documents, *rest)

    monkeypatch.setattr(process_command, "DELIVERY_SLICE", 4)
    monkeypatch.setattr(process_command, "_deliver_slice", counting)
    members = [member(0, 2), member(2, 2), member(4, 3), member(7, 2)]
    assert main(["process", str(firehose_object(tmp_path, members))]) == 0
    assert slices == [4, 4, 1]
    assert ids(capsysbinary.readouterr().out) == list(range(9))


def test_a_bad_member_is_reported_where_it_starts_and_the_others_are_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = gzip.compress(b'{"messageType": "DATA_MESSAGE"}')
    members = [member(0, 2), bad, member(2, 2)]
    path = firehose_object(tmp_path, members)
    assert main(["process", "--documents", "stdout", str(path)]) == 1
    out, err = capsys.readouterr()
    assert ids(out.encode()) == [0, 1, 2, 3]
    assert f"{path}: gzip member at byte {len(members[0])}: refused: wrong shape" in err


def test_a_member_cut_short_ends_the_file_after_the_members_before_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = member(0, 2)
    path = firehose_object(tmp_path, [first, member(2, 2)[:25]])
    assert main(["process", "--documents", "stdout", str(path)]) == 1
    out, err = capsys.readouterr()
    assert ids(out.encode()) == [0, 1]
    assert f"{path}: refused: gzip member at byte {len(first)}: truncated gzip data" in err
