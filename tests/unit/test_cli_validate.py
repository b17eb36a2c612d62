"""``cwlpipe validate``: the offline summary, bad configs, and unreachable servers as one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.cli import main
from consumers.config.connections import KafkaConfig
from consumers.config.service import parse_config
from consumers.config.summary import mask_url, summary
from consumers.kafka import probe
from consumers.runtime.reach import split_address

CLOSED = "127.0.0.1:1"  # nothing listens on tcpmux: refused at once, no network involved


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_the_shipped_config_validates_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert "pipeline.yaml" in out
    assert "routes: 2" in out
    assert out.strip().endswith("config ok (not connected; --connect reaches Kafka and OpenSearch)")


def test_summary_lists_routes_filters_topics_and_store(tmp_path: Path) -> None:
    config = parse_config(
        """
kafka: {input_topics: [a, b], dead_letter_topic: dlq}
opensearch: {url: 'https://search:9200'}
routes:
  - {name: api, log_groups: ['/api/*'], filter_pattern: ERROR, index_prefix: api, retention_days: 7}
default_route: {retention_days: never}
""",
        "p.yaml",
    )
    lines = summary(config)
    assert "  api: /api/* -> api-YYYY.MM.DD, retention 7 days, filter ERROR" in lines
    assert "  default: * -> cwl-YYYY.MM.DD, retention never, filter (every event)" in lines
    assert any("input topics a, b" in line and "dead letters dlq" in line for line in lines)
    assert "opensearch: https://search:9200" in lines


def test_summary_masks_the_password_in_the_store_url() -> None:
    assert mask_url("https://admin:s3cret@search:9200/x") == "https://admin:***@search:9200/x"


def test_summary_never_prints_the_basic_auth_password() -> None:
    config = parse_config(
        "opensearch: {url: 'https://o:9200', username: admin}",
        "p.yaml",
        {"CWLPIPE_OPENSEARCH_PASSWORD": "s3cret"},
    )
    text = "\n".join(summary(config))
    assert "s3cret" not in text and "user admin, password ***" in text


def test_a_bad_route_pattern_names_the_key_and_the_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path, "routes: [{log_groups: [a], retention_days: 1, filter_pattern: '{ $.a = }'}]\n"
    )
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"cwlpipe validate: bad config: {path}: routes[0].filter_pattern: "
        "Invalid metric filter pattern (at position 8)"
    )


def test_a_bad_metric_filter_pattern_names_the_key_and_the_position(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        "metric_filters:\n  - FilterName: x\n    FilterPattern: '[a, b'\n"
        "    MetricTransformations: [{MetricName: m, MetricNamespace: n, MetricValue: '1'}]\n",
    )
    assert main(["validate", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"cwlpipe validate: bad config: {path}: metric_filters[0].FilterPattern: "
    )
    assert "(at position " in err


def test_unreachable_servers_are_one_failed_line_each(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(
        tmp_path,
        f"kafka: {{bootstrap_servers: '{CLOSED}'}}\nopensearch: {{url: 'http://{CLOSED}'}}\n",
    )
    assert main(["validate", "--config", str(path), "--connect", "--timeout", "2"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    kafka, store = err.splitlines()
    assert kafka == f"kafka: FAILED: {CLOSED}: connection refused"
    assert store.startswith(f"opensearch: FAILED: http://{CLOSED}: cannot connect: ")


def test_a_bootstrap_host_that_does_not_resolve_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "kafka: {bootstrap_servers: 'broker.invalid:9092'}\n")
    assert main(["validate", "--config", str(path), "--connect", "--timeout", "2"]) == 2
    (kafka,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("kafka")]
    assert kafka.startswith("kafka: FAILED: broker.invalid:9092: does not resolve")


def test_a_zero_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["validate", "--connect", "--timeout", "0"])
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("k1:9093", ("k1", 9093)),
        ("k1", ("k1", 9092)),
        ("[::1]:9094", ("::1", 9094)),
        ("[::1]", ("::1", 9092)),
    ],
)
def test_bootstrap_addresses_split_into_host_and_port(
    address: str, expected: tuple[str, int]
) -> None:
    assert split_address(address, 9092) == expected


async def test_a_missing_input_topic_fails_the_topics_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def reachable(address: str, port: int, timeout_s: float) -> None:
        return None

    async def topics(settings: KafkaConfig, timeout_s: float) -> set[str]:
        return {"cwl-dead-letters", "other"}

    monkeypatch.setattr(probe, "tcp_reach", reachable)
    monkeypatch.setattr(probe, "_topics", topics)
    reached, listed = await probe.check_kafka(KafkaConfig(), 1.0)
    assert reached.ok
    assert listed.line() == "kafka topics: FAILED: input topics missing: cwl-logs"


async def test_a_missing_trace_topic_is_only_mentioned(monkeypatch: pytest.MonkeyPatch) -> None:
    async def reachable(address: str, port: int, timeout_s: float) -> None:
        return None

    async def topics(settings: KafkaConfig, timeout_s: float) -> set[str]:
        return {"cwl-dead-letters", "cwl-logs"}

    monkeypatch.setattr(probe, "tcp_reach", reachable)
    monkeypatch.setattr(probe, "_topics", topics)
    _, listed = await probe.check_kafka(KafkaConfig(), 1.0, ("cwl-traces",))
    assert listed.ok
    assert "trace topics cwl-traces do not exist (no traces are read)" in listed.line()
