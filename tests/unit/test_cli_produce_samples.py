"""``cwlpipe produce-samples --to-dir DIR``: the sample deliveries as files ``cwlpipe process`` replays.

No broker and no store: the README's offline example must run on a fresh clone.
"""

from __future__ import annotations

import glob
import gzip
import re
import shlex
from pathlib import Path

import orjson
import pytest

from consumers.cli import main
from consumers.devtools.sample_data import sample_payloads
from tests.conftest import PROJECT_ROOT

GZIP_MAGIC = b"\x1f\x8b"


@pytest.fixture
def written(tmp_path: Path) -> Path:
    directory = tmp_path / "samples"
    assert main(["produce-samples", "--to-dir", str(directory)]) == 0
    return directory


def test_one_file_per_delivery_named_for_it(written: Path) -> None:
    expected = sample_payloads(0)
    assert sorted(p.name for p in written.iterdir()) == sorted(p.name for p in expected)
    # only the bad ones are named bad-*: the README's example relies on it
    assert {p.name for p in expected if not p.good} == {
        p.name for p in expected if p.name.startswith("bad-")
    }


def test_gz_files_hold_the_gzip_bytes_cloudwatch_sends(written: Path) -> None:
    lambda_delivery = (written / "lambda.gz").read_bytes()
    assert lambda_delivery.startswith(GZIP_MAGIC)
    document = orjson.loads(gzip.decompress(lambda_delivery))
    assert document["messageType"] == "DATA_MESSAGE"
    assert document["logGroup"] == "/aws/lambda/checkout"


def test_process_without_a_store_prints_the_files_as_bulk_ndjson(
    written: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    good = sorted(str(written / p.name) for p in sample_payloads(0) if p.good)
    assert main(["process", *good]) == 0
    lines = [orjson.loads(line) for line in capsysbinary.readouterr().out.splitlines()]
    actions, sources = lines[::2], lines[1::2]
    assert actions and all(a["index"]["_index"].startswith("cwl-") for a in actions)
    groups = {s["@log_group"] for s in sources}
    assert {"/aws/lambda/checkout", "/aws/lambda/orders"} <= groups
    assert any(s.get("lambda", {}).get("type") == "report" for s in sources)


def test_process_refuses_exactly_the_bad_files_and_keeps_the_rest(
    written: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    files = sorted(str(p) for p in written.iterdir())
    assert main(["process", *files]) == 1
    captured = capsysbinary.readouterr()
    refused = re.findall(r"^(\S+): refused: ", captured.err.decode(), flags=re.MULTILINE)
    assert sorted(Path(r).name for r in refused) == sorted(
        p.name for p in sample_payloads(0) if not p.good
    )
    assert captured.out.count(b'{"index":') > 0


def readme_example() -> list[list[str]]:
    """The ``cwlpipe`` commands of the README block that writes the samples, as argument lists."""
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, flags=re.DOTALL)
    block = next(b for b in blocks if "produce-samples --to-dir" in b)
    commands = block.replace("\\\n", " ").splitlines()
    return [shlex.split(c)[1:] for c in commands if shlex.split(c)[0].endswith("/cwlpipe")]


def test_the_readme_offline_example_runs_on_a_fresh_clone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "configs").symlink_to(PROJECT_ROOT / "configs")  # what a clone has, nothing more
    monkeypatch.chdir(tmp_path)
    produce, process = readme_example()
    assert produce[0] == "produce-samples" and process[0] == "process"
    assert main(produce) == 0
    expanded = [match for arg in process for match in (sorted(glob.glob(arg)) or [arg])]
    assert main(expanded) == 1  # the bad-* deliveries are refused, as the README says
    metrics = (tmp_path / "metrics.prom").read_text()
    assert 'cwlpipe_lambda_invocations_total{function="checkout"}' in metrics
    assert "refused" in capsys.readouterr().err


def test_an_unwritable_directory_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["produce-samples", "--to-dir", str(blocker / "samples")]) == 1
    assert "cannot write" in capsys.readouterr().err


def test_to_dir_and_every_exclude_each_other(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["produce-samples", "--to-dir", str(tmp_path), "--every", "5"])
    assert exited.value.code == 2
