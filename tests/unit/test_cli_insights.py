"""``cwlpipe insights`` without a store: times, refusals, and the output formats."""

from __future__ import annotations

import csv
import io

import pytest

from consumers.cli import main
from consumers.insights.output import as_csv, as_table, get_query_results, statistics_line
from consumers.insights.store import InsightsRun, store_query
from pipeline.insights import evaluate, parse_query
from pipeline.insights.times import parse_time

NOW = 1_764_000_000_000


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("now", NOW),
        ("-1h", NOW - 3_600_000),
        ("-30m", NOW - 1_800_000),
        ("-2d", NOW - 172_800_000),
        ("2024-03-05T10:00:00Z", 1_709_632_800_000),
        ("2024-03-05T10:00:00.250+00:00", 1_709_632_800_250),
        ("2024-03-05T10:00:00", 1_709_632_800_000),  # no zone: UTC
        ("1709632800", 1_709_632_800_000),  # epoch seconds, as StartQuery takes them
    ],
)
def test_times(text: str, millis: int) -> None:
    assert parse_time(text, NOW) == millis


def test_a_bad_time_says_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("yesterday", NOW)


def test_an_invalid_query_exits_2_with_a_caret(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "filter x = | limit 2"]) == 2
    reason, line, caret = capsys.readouterr().err.splitlines()
    assert reason.startswith("cwlpipe insights: invalid query: expected a field, a value")
    assert caret == " " * line.index("|") + "^"


def test_start_after_end_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["insights", "stats count(*)", "--start", "now", "--end", "-1h"]) == 2
    assert "--start is after --end" in capsys.readouterr().err


def test_no_store_is_a_config_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("CWLPIPE_OPENSEARCH_URL", raising=False)
    config = tmp_path / "c.yaml"  # type: ignore[operator]
    config.write_text("kafka: {}\n")
    assert main(["insights", "stats count(*)", "--config", str(config)]) == 2
    assert "opensearch.url: is required by cwlpipe insights" in capsys.readouterr().err


def _run() -> InsightsRun:
    documents = [
        {
            "@id": f"{n}",
            "@timestamp": f"2024-03-05T10:00:0{n}.000Z",
            "@message": f"m, {n}",
            "@log_group": "/g",
            "@log_stream": "s",
            "@owner": "1",
        }
        for n in range(3)
    ]
    run = InsightsRun(evaluate(parse_query("fields @timestamp, @message"), documents))
    run.records_scanned, run.bytes_scanned, run.seconds = 3, 1500, 0.25
    return run


def test_get_query_results_shape() -> None:
    answer = get_query_results(_run())
    assert answer["status"] == "Complete"
    assert answer["results"][0] == [
        {"field": "@timestamp", "value": "2024-03-05 10:00:02.000"},
        {"field": "@message", "value": "m, 2"},
        {"field": "@ptr", "value": "2"},
    ]
    assert answer["statistics"] == {
        "recordsMatched": 3.0,
        "recordsScanned": 3.0,
        "bytesScanned": 1500.0,
    }


def test_table_csv_and_statistics_line() -> None:
    run = _run()
    table = as_table(run).splitlines()
    assert table[0].split(" | ")[0].strip() == "@timestamp"
    assert table[2] == "2024-03-05 10:00:02.000 | m, 2"
    rows = list(csv.reader(io.StringIO(as_csv(run))))
    assert rows[0] == ["@timestamp", "@message"] and rows[1] == ["2024-03-05 10:00:02.000", "m, 2"]
    assert statistics_line(run) == "3 records matched | 3 records (1.5 kB) scanned in 0.2 s"


def test_the_store_narrows_by_time_groups_and_source_prefixes() -> None:
    query = parse_query("SOURCE logGroups(namePrefix: ['/aws/']) | stats count(*)")
    narrowed = store_query(query, ["/g"], 10, 20)
    (time_range, groups) = narrowed["bool"]["filter"]
    assert time_range == {"range": {"@timestamp": {"format": "epoch_millis", "gte": 10, "lte": 20}}}
    assert groups["bool"]["should"] == [
        {"terms": {"@log_group": ["/g"]}},
        {"prefix": {"@log_group": "/aws/"}},
    ]


@pytest.mark.parametrize(
    ("query", "dsl"),
    [
        ("filter @logStream = 'a' | fields @message", [{"term": {"@log_stream": "a"}}]),
        ("filter @logStream in ['a', 'b']", [{"terms": {"@log_stream": ["a", "b"]}}]),
        ("filter @logStream = 'a' and @message like 'x'", [{"term": {"@log_stream": "a"}}]),
        ("filter @message like 'x' or @logStream = 'a'", []),  # or: all parts or nothing
        ("filter not @logStream = 'a'", [{"bool": {"must_not": [{"term": {"@log_stream": "a"}}]}}]),
        ("fields @message | filter @logStream = 'a'", []),  # only leading filters
        (
            "filter @logStream = 'a' | filter @logStream = 'b'",
            [{"term": {"@log_stream": "a"}}, {"term": {"@log_stream": "b"}}],
        ),
    ],
)
def test_only_what_the_store_answers_exactly_narrows_it(query: str, dsl: list[object]) -> None:
    from consumers.insights.pushdown import narrowing

    assert narrowing(parse_query(query)) == dsl
