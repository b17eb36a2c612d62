"""Configuration: the shipped files load; every mistake names file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from consumers.config.file import DEFAULT_CONFIG, load_config
from consumers.config.service import ServiceConfig, parse_config
from pipeline.errors import ConfigError
from pipeline.invocations import LambdaPrices
from tests.conftest import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "configs" / "examples"


def test_default_config_file_matches_the_built_in_defaults() -> None:
    loaded = load_config(DEFAULT_CONFIG)
    defaults = ServiceConfig()
    assert loaded.metrics == defaults.metrics
    assert loaded.core.lambda_ == defaults.core.lambda_
    assert loaded.core.metric_filters == ()


def test_example_metric_filters_load_in_both_shapes() -> None:
    config = load_config(EXAMPLES / "metric-filters.yaml")
    names = [f.name for f in config.core.metric_filters]
    assert names == ["api-5xx", "api-latency", "access-bytes", "errors"]
    assert config.core.metric_filters[1].definition.histogram_buckets is not None
    assert config.core.metric_filters[2].definition.dimensions == (("Status", "$status_code"),)
    assert config.core.aws_region == "eu-west-1"


def test_empty_file_is_the_defaults() -> None:
    assert parse_config("", "empty.yaml").core.metric_filters == ()


def test_prices_and_architectures() -> None:
    config = parse_config(
        """
lambda:
  prices: {as_of: 2026-01-01, x86_64_gb_second_usd: 0.00002}
  architectures: {"*-arm": arm64}
"""
    )
    assert config.core.lambda_.prices == LambdaPrices(
        x86_64_gb_second_usd=0.00002, as_of="2026-01-01"
    )
    assert config.core.lambda_.architectures == (("*-arm", "arm64"),)


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("kafka_brokers: x", "kafka_brokers", "unknown key"),
        ("metrics: {max_label_sets: 0}", "metrics.max_label_sets", "integer >= 1"),
        ("metrics: [1]", "metrics", "must be a mapping"),
        ("lambda: {default_architecture: sparc}", "lambda.default_architecture", "x86_64, arm64"),
        ("lambda: {architectures: {'a*': mips}}", "lambda.architectures.a*", "x86_64, arm64"),
        (
            "lambda: {prices: {request_usd: -1, as_of: x}}",
            "lambda.prices.request_usd",
            "number >= 0",
        ),
        ("lambda: {prices: {request_usd: 0}}", "lambda.prices.as_of", "when these prices"),
        ("metric_filters: {a: 1}", "metric_filters", "must be a list"),
        (
            "metric_filters:\n  - filterName: x\n    filterPattern: '{ $.a = }'\n"
            "    metricTransformations: [{metricName: m, metricNamespace: n, metricValue: '1'}]",
            "metric_filters[0].filterPattern",
            "Invalid filter pattern",
        ),
        ("aws_region: ''", "aws_region", "non-empty string"),
    ],
)
def test_mistakes_name_file_key_and_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "pipeline.yaml")
    assert raised.value.file == "pipeline.yaml"
    assert raised.value.key == key
    assert reason in raised.value.reason
    assert str(raised.value).startswith(f"pipeline.yaml: {key}: ")


def test_yaml_syntax_error_gives_line_and_column() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("metrics:\n  max_label_sets: [1,\n", "bad.yaml")
    assert raised.value.key is not None and raised.value.key.startswith("line ")
    assert "not valid YAML" in raised.value.reason


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(ConfigError, match="mapping of sections"):
        parse_config("- 1\n- 2\n", "list.yaml")


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as raised:
        load_config(missing)
    assert raised.value.file == str(missing)


def test_environment_overrides_connection_settings() -> None:
    env = {
        "CWLPIPE_KAFKA_BOOTSTRAP": "k1:9092,k2:9092",
        "CWLPIPE_INPUT_TOPICS": "a, b,,c",
        "CWLPIPE_GROUP_ID": "g",
        "CWLPIPE_DLQ_TOPIC": "dlq",
        "CWLPIPE_OPENSEARCH_URL": "https://search:9200",
        "CWLPIPE_METRICS_PORT": "9999",
    }
    config = parse_config(load_default_text(), "pipeline.yaml", env)
    assert config.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert config.kafka.input_topics == ("a", "b", "c")
    assert (config.kafka.group_id, config.kafka.dead_letter_topic) == ("g", "dlq")
    assert config.opensearch.url == "https://search:9200"
    assert config.metrics.port == 9999


def test_bad_environment_value_is_named() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config("", "p.yaml", {"CWLPIPE_METRICS_PORT": "http"})
    assert (raised.value.file, raised.value.key) == ("environment", "CWLPIPE_METRICS_PORT")


def test_secrets_are_never_printed() -> None:
    config = parse_config(
        "kafka: {security_protocol: SASL_SSL, sasl_mechanism: SCRAM-SHA-512, sasl_username: u}\n"
        "opensearch: {url: 'https://o:9200', username: admin}",
        "p.yaml",
        {"CWLPIPE_KAFKA_SASL_PASSWORD": "hunter2", "CWLPIPE_OPENSEARCH_PASSWORD": "s3cret"},
    )
    assert config.kafka.sasl_password is not None
    assert config.kafka.sasl_password.value == "hunter2"
    assert config.opensearch.password is not None
    assert config.opensearch.password.value == "s3cret"
    assert "hunter2" not in repr(config) and "s3cret" not in repr(config)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("kafka: {security_protocol: SASL_SSL, sasl_username: u}", "kafka.sasl_password"),
        ("kafka: {security_protocol: TLS}", "kafka.security_protocol"),
        ("kafka: {sasl_mechanism: PLAIN}", "kafka.sasl_mechanism"),
        ("opensearch: {url: 'search:9200'}", "opensearch.url"),
        ("opensearch: {username: admin}", "opensearch.password"),
        ("kafka: {input_topics: []}", "kafka.input_topics"),
    ],
)
def test_connection_mistakes_name_the_key(text: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "p.yaml")
    assert raised.value.key == key


def load_default_text() -> str:
    return DEFAULT_CONFIG.read_text(encoding="utf-8")


def test_run_with_a_bad_config_stops_with_file_key_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from consumers.cli import main

    bad = tmp_path / "pipeline.yaml"
    bad.write_text("routes:\n  - {log_groups: ['/a/*'], retention_days: 10}\n")
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: routes[0].retention_days: 10 is not one of CloudWatch's values" in err
