"""Numbers in the config are finite and in range, booleans are booleans: each key says which."""

from __future__ import annotations

import pytest

from consumers.config.service import parse_config
from pipeline.config_values import PORT, SECONDS, Bounds
from pipeline.errors import ConfigError


def refused(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        parse_config(text, "p.yaml")
    return raised.value


def test_nan_shutdown_deadline_is_refused() -> None:
    error = refused("shutdown_deadline_s: .nan")
    assert error.key == "shutdown_deadline_s"
    assert "finite number > 0 and <= 3600, got nan" in error.reason


def test_infinite_backoff_is_refused() -> None:
    assert refused("opensearch: {max_backoff_s: .inf}").key == "opensearch.max_backoff_s"


def test_port_above_65535_is_refused() -> None:
    error = refused("metrics: {port: 99999}")
    assert (error.key, error.reason) == (
        "metrics.port",
        "must be an integer from 1 to 65535, got 99999",
    )


@pytest.mark.parametrize("port", [1, 9108, 65535])
def test_ports_from_1_to_65535_are_accepted(port: int) -> None:
    assert parse_config(f"metrics: {{port: {port}}}").metrics.port == port


def test_port_0_is_refused_it_would_hide_where_metrics_went() -> None:
    assert refused("metrics: {port: 0}").key == "metrics.port"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("opensearch: {timeout_s: 0}", "opensearch.timeout_s"),
        ("opensearch: {initial_backoff_s: 0}", "opensearch.initial_backoff_s"),
        ("shutdown_deadline_s: -1", "shutdown_deadline_s"),
        ("kafka: {session_timeout_ms: 0}", "kafka.session_timeout_ms"),
    ],
)
def test_zero_or_negative_durations_are_refused(text: str, key: str) -> None:
    assert refused(text).key == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("opensearch: {bulk_max_actions: 0}", "opensearch.bulk_max_actions"),
        ("kafka: {max_batch_records: 0}", "kafka.max_batch_records"),
        ("metrics: {max_label_sets: -5}", "metrics.max_label_sets"),
    ],
)
def test_counts_below_one_are_refused(text: str, key: str) -> None:
    assert refused(text).key == key


def test_heartbeat_must_be_shorter_than_the_session() -> None:
    error = refused("kafka: {session_timeout_ms: 6000, heartbeat_interval_ms: 6000}")
    assert error.key == "kafka.heartbeat_interval_ms"
    assert "less than session_timeout_ms (6000)" in error.reason


def test_max_backoff_must_not_be_below_the_initial_backoff() -> None:
    error = refused("opensearch: {initial_backoff_s: 5, max_backoff_s: 1}")
    assert error.key == "opensearch.max_backoff_s"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("opensearch: {verify_certs: 'false'}", "opensearch.verify_certs"),
        ("lambda: {enabled: 1}", "lambda.enabled"),
        ("metrics: {port: true}", "metrics.port"),
        ("opensearch: {timeout_s: yes}", "opensearch.timeout_s"),
    ],
)
def test_booleans_and_numbers_do_not_stand_in_for_each_other(text: str, key: str) -> None:
    assert refused(text).key == key


def test_an_integer_too_large_for_a_float_is_refused_not_a_crash() -> None:
    assert refused(f"kafka: {{max_batch_records: {10**400}}}").key == "kafka.max_batch_records"


def test_max_batch_bytes_defaults_to_16_mib() -> None:
    assert parse_config("").kafka.max_batch_bytes == 16 * 1024 * 1024


def test_max_batch_bytes_below_1024_is_refused() -> None:
    error = refused("kafka: {max_batch_bytes: 1023}")
    assert error.key == "kafka.max_batch_bytes"
    assert "from 1024 to 2147483647" in error.reason


def test_max_batch_bytes_is_read() -> None:
    assert parse_config("kafka: {max_batch_bytes: 1024}").kafka.max_batch_bytes == 1024


@pytest.mark.parametrize(
    ("bounds", "text"),
    [
        (PORT, "from 1 to 65535"),
        (SECONDS, "> 0 and <= 3600"),
        (Bounds(1), ">= 1"),
        (Bounds(0, low_open=True), "> 0"),
    ],
)
def test_bounds_describe_themselves(bounds: Bounds, text: str) -> None:
    assert str(bounds) == text


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_bounds_never_contain_non_finite_values(value: float) -> None:
    assert value not in Bounds()
