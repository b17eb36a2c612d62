"""Connection settings reach the clients: Kafka TLS/SASL, OpenSearch TLS and basic auth."""

from __future__ import annotations

import ssl
import sys

import pytest

from consumers.config.service import parse_config
from consumers.kafka.source import _security
from consumers.opensearch.sink import make_client


def test_kafka_sasl_ssl_options() -> None:
    config = parse_config(
        "kafka: {security_protocol: SASL_SSL, sasl_mechanism: SCRAM-SHA-512, sasl_username: svc}",
        env={"CWLPIPE_KAFKA_SASL_PASSWORD": "hunter2"},
    )
    options = _security(config.kafka)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("svc", "hunter2")
    assert isinstance(options["ssl_context"], ssl.SSLContext)


def test_kafka_plaintext_has_no_tls_or_sasl() -> None:
    assert _security(parse_config("").kafka) == {"security_protocol": "PLAINTEXT"}


def test_opensearch_tls_and_basic_auth() -> None:
    config = parse_config(
        "opensearch: {url: 'https://search.example:9200', username: admin, verify_certs: false}",
        env={"CWLPIPE_OPENSEARCH_PASSWORD": "s3cret"},
    )
    client = make_client(config.opensearch)
    assert client.transport.hosts == [{"host": "search.example", "port": 9200, "use_ssl": True}]
    assert client.transport.kwargs["http_auth"] == ("admin", "s3cret")
    assert client.transport.kwargs["verify_certs"] is False


def test_sigv4_without_its_extra_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # as where the aws extra is not installed
    config = parse_config("opensearch: {url: 'https://x:443', aws_region: eu-west-1}")
    with pytest.raises(ValueError, match="cwl-pipeline\\[aws\\]"):
        make_client(config.opensearch)
