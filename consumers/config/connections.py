"""Connection settings (Kafka, OpenSearch, the metrics endpoint) and their environment overrides.

Every connection setting can be overridden from the environment, so one
config file serves every deployment: ``CWLPIPE_KAFKA_BOOTSTRAP``,
``CWLPIPE_INPUT_TOPICS`` (comma separated), ``CWLPIPE_GROUP_ID``,
``CWLPIPE_DLQ_TOPIC``, ``CWLPIPE_OPENSEARCH_URL``, ``CWLPIPE_METRICS_PORT``,
``CWLPIPE_TRACE_TOPICS`` (comma separated),
plus ``CWLPIPE_KAFKA_SASL_PASSWORD``, ``CWLPIPE_OPENSEARCH_PASSWORD`` and
``CWLPIPE_FIREHOSE_ACCESS_KEY`` so
secrets need not sit in the file. The environment is passed in, never read
here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config_values import COUNT, SECONDS, Bounds, Secret, Section
from pipeline.errors import ConfigError

__all__ = [
    "ENVIRONMENT_OVERRIDES",
    "KafkaConfig",
    "OpenSearchConfig",
    "apply_environment",
    "parse_kafka",
    "parse_opensearch",
]

# environment variable -> (section, key, kind)
ENVIRONMENT_OVERRIDES: dict[str, tuple[str, str, str]] = {
    "CWLPIPE_KAFKA_BOOTSTRAP": ("kafka", "bootstrap_servers", "str"),
    "CWLPIPE_INPUT_TOPICS": ("kafka", "input_topics", "list"),
    "CWLPIPE_GROUP_ID": ("kafka", "group_id", "str"),
    "CWLPIPE_DLQ_TOPIC": ("kafka", "dead_letter_topic", "str"),
    "CWLPIPE_KAFKA_SASL_PASSWORD": ("kafka", "sasl_password", "str"),
    "CWLPIPE_OPENSEARCH_URL": ("opensearch", "url", "str"),
    "CWLPIPE_OPENSEARCH_PASSWORD": ("opensearch", "password", "str"),
    "CWLPIPE_METRICS_PORT": ("metrics", "port", "int"),
    "CWLPIPE_TRACE_TOPICS": ("traces", "input_topics", "list"),
    "CWLPIPE_FIREHOSE_ACCESS_KEY": ("api", "firehose_access_key", "str"),
}
# Kafka and OpenSearch size fields are 32-bit signed integers on the wire.
BYTES = Bounds(1024, 2**31 - 1)
#: brokers refuse sessions outside their group.min/max.session.timeout.ms (6 s and 30 min by
#: default, configurable there); this only catches the absurd
SESSION_TIMEOUT_MS = Bounds(1000, 3_600_000)
HEARTBEAT_INTERVAL_MS = Bounds(1, 3_600_000)
MAX_RETRIES = Bounds(0, 1000)
TOTAL_FIELDS_LIMIT = Bounds(100)
#: gzip levels; 1 costs a sixth of level 9's CPU for most of its saving on log documents
COMPRESS_LEVEL = Bounds(1, 9)
SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True, slots=True)
class KafkaConfig:
    bootstrap_servers: str = "localhost:9092"
    input_topics: tuple[str, ...] = ("cwl-logs",)
    group_id: str = "cwl-pipeline"
    dead_letter_topic: str = "cwl-dead-letters"
    max_batch_records: int = 500
    max_batch_bytes: int = 16 * 1024 * 1024
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: Secret | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None


@dataclass(frozen=True, slots=True)
class OpenSearchConfig:
    url: str | None = None  # None: no store (``process`` then writes bulk NDJSON)
    username: str | None = None
    password: Secret | None = None
    verify_certs: bool = True
    ca_certs: str | None = None
    aws_region: str | None = None  # set: sign requests with SigV4 (the ``aws`` extra)
    aws_service: str = "es"
    timeout_s: float = 30.0
    bulk_max_actions: int = 1000
    bulk_max_bytes: int = 10 * 1024 * 1024
    max_retries: int = 8
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    total_fields_limit: int = 2000
    http_compress: bool = True  # gzip the _bulk bodies
    compress_level: int = 1


def apply_environment(data: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the raw config with the environment's overrides applied."""
    merged: dict[str, Any] = dict(data)
    for variable, (section, key, kind) in ENVIRONMENT_OVERRIDES.items():
        value = env.get(variable)
        if value is None or value == "":
            continue
        current = merged.get(section)
        block = dict(current) if isinstance(current, Mapping) else {}
        if kind == "list":
            block[key] = [item.strip() for item in value.split(",") if item.strip()]
        elif kind == "int":
            try:
                block[key] = int(value)
            except ValueError:
                raise ConfigError(
                    f"must be an integer, got {value!r}", file="environment", key=variable
                ) from None
        else:
            block[key] = value
        merged[section] = block
    return merged


def parse_kafka(section: Section) -> KafkaConfig:
    defaults = KafkaConfig()
    section.only(list(KafkaConfig.__dataclass_fields__))
    protocol = section.choice("security_protocol", SECURITY_PROTOCOLS, defaults.security_protocol)
    mechanism = section.raw("sasl_mechanism")
    if protocol.startswith("SASL"):
        mechanism = section.choice("sasl_mechanism", SASL_MECHANISMS, "PLAIN")
        section.string("sasl_username")
        if section.raw("sasl_password") is None:
            raise section.error(
                "sasl_password", "is required with SASL (or CWLPIPE_KAFKA_SASL_PASSWORD)"
            )
    elif mechanism is not None:
        raise section.error("sasl_mechanism", f"needs security_protocol SASL_*, not {protocol}")
    session = section.integer("session_timeout_ms", defaults.session_timeout_ms, SESSION_TIMEOUT_MS)
    heartbeat = section.integer(
        "heartbeat_interval_ms", defaults.heartbeat_interval_ms, HEARTBEAT_INTERVAL_MS
    )
    if heartbeat >= session:  # the group coordinator would expire the member between heartbeats
        raise section.error(
            "heartbeat_interval_ms", f"must be less than session_timeout_ms ({session})"
        )
    return KafkaConfig(
        bootstrap_servers=section.string("bootstrap_servers", defaults.bootstrap_servers),
        input_topics=section.strings("input_topics", defaults.input_topics),
        group_id=section.string("group_id", defaults.group_id),
        dead_letter_topic=section.string("dead_letter_topic", defaults.dead_letter_topic),
        max_batch_records=section.integer("max_batch_records", defaults.max_batch_records, COUNT),
        max_batch_bytes=section.integer("max_batch_bytes", defaults.max_batch_bytes, BYTES),
        session_timeout_ms=session,
        heartbeat_interval_ms=heartbeat,
        security_protocol=protocol,
        sasl_mechanism=mechanism,
        sasl_username=section.optional_string("sasl_username"),
        sasl_password=section.secret("sasl_password"),
        ssl_cafile=section.optional_string("ssl_cafile"),
        ssl_certfile=section.optional_string("ssl_certfile"),
        ssl_keyfile=section.optional_string("ssl_keyfile"),
    )


def parse_opensearch(section: Section) -> OpenSearchConfig:
    d = OpenSearchConfig()
    section.only(list(OpenSearchConfig.__dataclass_fields__))
    url = section.optional_string("url")
    if url is not None and not url.startswith(("http://", "https://")):
        raise section.error("url", "must start with http:// or https://")
    username = section.optional_string("username")
    password = section.secret("password")
    if (username is None) != (password is None):
        raise section.error("password" if username else "username", "basic auth needs both")
    initial_backoff = section.number("initial_backoff_s", d.initial_backoff_s, SECONDS)
    max_backoff = section.number("max_backoff_s", d.max_backoff_s, SECONDS)
    if max_backoff < initial_backoff:
        raise section.error(
            "max_backoff_s", f"must be at least initial_backoff_s ({initial_backoff:g})"
        )
    return OpenSearchConfig(
        url=url,
        username=username,
        password=password,
        verify_certs=section.boolean("verify_certs", d.verify_certs),
        ca_certs=section.optional_string("ca_certs"),
        aws_region=section.optional_string("aws_region"),
        aws_service=section.choice("aws_service", ("es", "aoss"), d.aws_service),
        timeout_s=section.number("timeout_s", d.timeout_s, SECONDS),
        bulk_max_actions=section.integer("bulk_max_actions", d.bulk_max_actions, COUNT),
        bulk_max_bytes=section.integer("bulk_max_bytes", d.bulk_max_bytes, BYTES),
        max_retries=section.integer("max_retries", d.max_retries, MAX_RETRIES),
        initial_backoff_s=initial_backoff,
        max_backoff_s=max_backoff,
        total_fields_limit=section.integer(
            "total_fields_limit", d.total_fields_limit, TOTAL_FIELDS_LIMIT
        ),
        http_compress=section.boolean("http_compress", d.http_compress),
        compress_level=section.integer("compress_level", d.compress_level, COMPRESS_LEVEL),
    )
