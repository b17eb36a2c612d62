"""The reference of every config key: type, default, range, meaning; rendered to Markdown.

``docs/configuration.md`` is this module's :func:`render` output
(``python -m consumers.devtools.config_reference`` writes it). Ranges are
the parsers' own :class:`Bounds` objects, and a unit test checks that every
key a parser accepts is listed here and that each range is the one enforced.
"""

from __future__ import annotations

from typing import NamedTuple

from consumers.config.api import PENDING_QUERIES, REQUEST_BYTES, RUNNING_QUERIES
from consumers.config.connections import (
    BYTES,
    COMPRESS_LEVEL,
    ENVIRONMENT_OVERRIDES,
    HEARTBEAT_INTERVAL_MS,
    MAX_RETRIES,
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    SESSION_TIMEOUT_MS,
    TOTAL_FIELDS_LIMIT,
)
from consumers.config.service import DEFAULT_MAX_LABEL_SETS
from pipeline.config_values import COUNT, NON_NEGATIVE, PORT, SECONDS, Bounds
from pipeline.routing import RETENTION_DAYS
from pipeline.traces.settings import PENDING_BYTES, WAIT_SECONDS

__all__ = ["KEYS", "Key", "render"]

_DAYS = ", ".join(map(str, RETENTION_DAYS))


class Key(NamedTuple):
    path: str  # routes[] stands for every item of the list
    type: str
    default: str  # as written in YAML; "required" or "none" (unset)
    meaning: str
    bounds: Bounds | None = None


def _route_keys(prefix: str, *, default: bool) -> list[Key]:
    keys = [
        Key(f"{prefix}.name", "string", "route-N" if not default else "default", "name in logs"),
        Key(
            f"{prefix}.filter_pattern",
            "string",
            '""',
            "CloudWatch filter pattern; events it does not match are dropped and counted",
        ),
        Key(f"{prefix}.index_prefix", "string", "cwl", "day indices <prefix>-YYYY.MM.DD (UTC)"),
        Key(
            f"{prefix}.retention_days",
            f"{_DAYS} or never",
            "required",
            "delete day indices older than this (ISM policy, or the sweeper)",
        ),
        Key(f"{prefix}.json_fields", "merge, nest or off", "merge", "fields of JSON messages"),
        Key(f"{prefix}.json_key", "string", "json", "where json_fields: nest puts them"),
        Key(f"{prefix}.metric_filters", "list", "[]", "metric filters for this route only"),
    ]
    if not default:
        keys.insert(1, Key(f"{prefix}.log_groups", "list of globs", "required", "log groups"))
    return keys


KEYS: tuple[Key, ...] = (
    Key("aws_region", "string", "none", "the @aws.region dimension of metric filters"),
    Key("shutdown_deadline_s", "seconds", "30", "SIGTERM: flush and commit within", SECONDS),
    Key(
        "metric_filters",
        "list",
        "[]",
        "PutMetricFilter or CloudFormation shapes, every route (configs/examples)",
    ),
    Key("kafka", "mapping", "{}", "the Kafka connection and consumer group"),
    Key("kafka.bootstrap_servers", "host:port,...", "localhost:9092", "the Kafka cluster"),
    Key("kafka.input_topics", "list of strings", "[cwl-logs]", "subscription data topics"),
    Key("kafka.group_id", "string", "cwl-pipeline", "consumer group (scale-out)"),
    Key("kafka.dead_letter_topic", "string", "cwl-dead-letters", "where refused records go"),
    Key("kafka.max_batch_records", "integer", "500", "records per batch", COUNT),
    Key(
        "kafka.max_batch_bytes",
        "integer",
        "16777216",
        "bytes in hand: two batches of half, values and documents (16 MiB)",
        BYTES,
    ),
    Key(
        "kafka.session_timeout_ms",
        "integer",
        "10000",
        "group session; the broker's own limits apply too",
        SESSION_TIMEOUT_MS,
    ),
    Key(
        "kafka.heartbeat_interval_ms",
        "integer",
        "3000",
        "less than session_timeout_ms",
        HEARTBEAT_INTERVAL_MS,
    ),
    Key(
        "kafka.security_protocol",
        ", ".join(SECURITY_PROTOCOLS),
        "PLAINTEXT",
        "TLS and SASL",
    ),
    Key("kafka.sasl_mechanism", ", ".join(SASL_MECHANISMS), "PLAIN with SASL_*", "SASL only"),
    Key("kafka.sasl_username", "string", "none", "required with SASL_*"),
    Key("kafka.sasl_password", "secret", "none", "required with SASL_*; never printed"),
    Key("kafka.ssl_cafile", "file", "none", "CA bundle; must exist"),
    Key("kafka.ssl_certfile", "file", "none", "client certificate; must exist"),
    Key("kafka.ssl_keyfile", "file", "none", "client key; must exist"),
    Key("opensearch", "mapping", "{}", "the store: connection, bulk sizes, retries"),
    Key("opensearch.url", "http(s) URL", "none", "the store; run and retention need it"),
    Key("opensearch.username", "string", "none", "basic auth, with password"),
    Key("opensearch.password", "secret", "none", "basic auth; never printed"),
    Key("opensearch.verify_certs", "boolean", "true", "check the server's certificate"),
    Key("opensearch.ca_certs", "file", "none", "CA bundle; must exist"),
    Key("opensearch.aws_region", "string", "none", "sign with SigV4 (the aws extra)"),
    Key("opensearch.aws_service", "es or aoss", "es", "SigV4 service"),
    Key("opensearch.timeout_s", "seconds", "30", "per request", SECONDS),
    Key("opensearch.bulk_max_actions", "integer", "1000", "documents per _bulk", COUNT),
    Key("opensearch.bulk_max_bytes", "integer", "10485760", "body bytes per _bulk", BYTES),
    Key("opensearch.max_retries", "integer", "8", "retries of 429/5xx/unreachable", MAX_RETRIES),
    Key("opensearch.initial_backoff_s", "seconds", "0.5", "first retry delay", SECONDS),
    Key("opensearch.max_backoff_s", "seconds", "30", "delay cap; >= initial", SECONDS),
    Key(
        "opensearch.total_fields_limit",
        "integer",
        "2000",
        "index.mapping.total_fields.limit",
        TOTAL_FIELDS_LIMIT,
    ),
    Key("opensearch.http_compress", "boolean", "true", "gzip the _bulk bodies"),
    Key(
        "opensearch.compress_level",
        "integer",
        "1",
        "gzip level (ISA-L at 1-3); 9 spends ~30x the CPU of 1 for a few % smaller bodies",
        COMPRESS_LEVEL,
    ),
    Key("metrics", "mapping", "{}", "the HTTP endpoint and the label-set cap"),
    Key(
        "metrics.address",
        "string",
        "127.0.0.1",
        "/metrics, /healthz, /readyz listen here (0.0.0.0: every interface)",
    ),
    Key("metrics.port", "integer", "9108", "--workers N uses port .. port+N-1", PORT),
    Key(
        "metrics.max_label_sets",
        "integer",
        str(DEFAULT_MAX_LABEL_SETS),
        "label sets per metric; more are dropped and counted",
        COUNT,
    ),
    Key("api", "mapping", "{}", "cwlpipe serve: the CloudWatch Logs API and Firehose endpoint"),
    Key(
        "api.listen",
        "host:port",
        "127.0.0.1:4586",
        "beyond loopback only with credentials (--listen overrides)",
    ),
    Key(
        "api.credentials",
        "mapping",
        "{}",
        "access key id -> name of the environment variable with its secret; set: SigV4 required",
    ),
    Key(
        "api.max_request_bytes",
        "integer",
        "1048576",
        "largest API request body (413 beyond)",
        REQUEST_BYTES,
    ),
    Key(
        "api.firehose_max_request_bytes",
        "integer",
        "134217728",
        "largest Firehose delivery, decompressed (413 beyond)",
        REQUEST_BYTES,
    ),
    Key(
        "api.firehose_access_key",
        "secret",
        "none",
        "X-Amz-Firehose-Access-Key required when set; never printed",
    ),
    Key(
        "api.firehose_timeout_s",
        "seconds",
        "60",
        "a delivery not acknowledged by Kafka within this fails (Firehose retries)",
        SECONDS,
    ),
    Key("api.query_timeout_s", "seconds", "60", "an Insights query runs at most", SECONDS),
    Key("api.query_scan_cap", "integer", "1000000", "documents an Insights query scans", COUNT),
    Key(
        "api.max_running_queries",
        "integer",
        "2",
        "Insights queries running at once; more wait as Scheduled",
        RUNNING_QUERIES,
    ),
    Key(
        "api.max_pending_queries",
        "integer",
        "30",
        "unfinished queries; StartQuery beyond: LimitExceededException",
        PENDING_QUERIES,
    ),
    Key("lambda", "mapping", "{}", "Lambda platform lines and the cost estimate"),
    Key("lambda.enabled", "boolean", "true", "Lambda platform lines -> lambda.* and metrics"),
    Key("lambda.default_architecture", "x86_64 or arm64", "x86_64", "for the cost estimate"),
    Key("lambda.architectures", "mapping", "{}", "function-name glob -> architecture"),
    Key("lambda.prices", "mapping", "us-east-1", "on-demand prices; as_of required when set"),
    Key("lambda.prices.as_of", "date", "2025-08-01", "required when prices are given"),
    Key("lambda.prices.request_usd", "USD", "0.0000002", "per request", NON_NEGATIVE),
    Key("lambda.prices.x86_64_gb_second_usd", "USD", "0.0000166667", "per GB-s", NON_NEGATIVE),
    Key("lambda.prices.arm64_gb_second_usd", "USD", "0.0000133334", "per GB-s", NON_NEGATIVE),
    Key("routes", "list", "[]", "log groups to indices; the first matching route wins"),
    *_route_keys("routes[]", default=False),
    Key("default_route", "mapping", "none", "the route for every other log group"),
    *_route_keys("default_route", default=True),
    Key("traces", "mapping", "{}", "X-Ray segments -> Trace Analytics spans and service map"),
    Key("traces.enabled", "boolean", "true", "consume the trace topics"),
    Key("traces.input_topics", "list of strings", "[cwl-traces]", "X-Ray segment topics"),
    Key(
        "traces.span_index_prefix",
        "string",
        "otel-v1-apm-span",
        "span day indices <prefix>-YYYY.MM.DD (Dashboards reads otel-v1-apm-span-*)",
    ),
    Key("traces.span_retention_days", f"{_DAYS} or never", "7", "delete span day indices after"),
    Key(
        "traces.service_map_index",
        "string",
        "otel-v1-apm-service-map",
        "service-map relationship documents",
    ),
    Key(
        "traces.service_map_retention_days",
        f"{_DAYS} or never",
        "never",
        "never: one index kept forever; days: day indices <index>-YYYY.MM.DD",
    ),
    Key(
        "traces.trace_group_wait_s",
        "seconds",
        "50",
        "spans indexed before their trace's root are indexed again if it comes within",
        WAIT_SECONDS,
    ),
    Key(
        "traces.service_map_wait_s",
        "seconds",
        "20",
        "an edge waits this long for its trace group and a traced call for its server",
        WAIT_SECONDS,
    ),
    Key(
        "traces.max_pending_bytes",
        "integer",
        "33554432",
        "spans waiting for their root keep at most this (the oldest give up first)",
        PENDING_BYTES,
    ),
)


def render() -> str:
    """The Markdown reference, byte for byte what ``docs/configuration.md`` holds."""
    lines = [
        "# Configuration reference",
        "",
        "Generated from `consumers/config/reference.py` by",
        "`python -m consumers.devtools.config_reference`; do not edit by hand.",
        "A mistake stops start-up with `file: key.path: reason` (exit 2);",
        "`cwlpipe validate` checks a file. Numbers must be finite.",
        "`routes[]` stands for every route of the list. Without `default_route`",
        "the built-in one (`*` -> `cwl`) keeps its indices forever (`never`).",
        "",
        "| key | type | default | range | meaning |",
        "|---|---|---|---|---|",
    ]
    for key in KEYS:
        bounds = str(key.bounds) if key.bounds else ""
        cells = (f"`{key.path}`", key.type, f"`{key.default}`", bounds, key.meaning)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    lines += ["", "## Environment overrides", "", "| variable | key |", "|---|---|"]
    for variable, (section, name, _) in ENVIRONMENT_OVERRIDES.items():
        lines.append(f"| `{variable}` | `{section}.{name}` |")
    return "\n".join(lines) + "\n"
