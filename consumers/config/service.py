"""The service's configuration: one YAML file, read and split by the shell.

The connection settings (Kafka, OpenSearch, the metrics endpoint), the
shutdown deadline and the environment overrides stay here; the core gets
its sections (routes, metric filters, Lambda prices, region) as a
:class:`pipeline.config.PipelineConfig` in ``core``. Every problem is a
:class:`ConfigError` with file, key path and reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from consumers.config.api import ApiConfig, parse_api
from consumers.config.connections import (
    KafkaConfig,
    OpenSearchConfig,
    apply_environment,
    parse_kafka,
    parse_opensearch,
)
from pipeline.config import CORE_SECTIONS, PipelineConfig, core_config
from pipeline.config_values import COUNT, PORT, SECONDS, Section
from pipeline.errors import ConfigError
from pipeline.routing import Route, Router

__all__ = [
    "DEFAULT_MAX_LABEL_SETS",
    "MetricsConfig",
    "ServiceConfig",
    "parse_config",
    "service_config",
]

DEFAULT_MAX_LABEL_SETS = 1000
SHELL_SECTIONS = ("api", "kafka", "metrics", "opensearch", "shutdown_deadline_s")


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    #: at most this many label sets per exported metric; samples for more are dropped and counted
    max_label_sets: int = DEFAULT_MAX_LABEL_SETS
    port: int = 9108
    address: str = "127.0.0.1"  # the compose file sets 0.0.0.0 for its network


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    core: PipelineConfig = field(default_factory=PipelineConfig)
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    opensearch: OpenSearchConfig = field(default_factory=OpenSearchConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    shutdown_deadline_s: float = 30.0
    file: str | None = None

    def router(self) -> Router:
        return self.core.router()

    def index_routes(self) -> tuple[Route, ...]:
        """Every index family the daemon writes, for retention: the log routes, then the
        trace indices when traces are on."""
        return (*self.router().all_routes, *self.core.traces.retention_routes())

    @property
    def input_topics(self) -> tuple[str, ...]:
        """The topics the daemon subscribes to: logs, then traces when they are on."""
        traces = self.core.traces
        return self.kafka.input_topics + (traces.input_topics if traces.enabled else ())


def parse_config(
    text: str, file: str = "<config>", env: Mapping[str, str] | None = None
) -> ServiceConfig:
    """Parse and validate YAML (or JSON) configuration text, with ``env`` overrides applied."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"not valid YAML: {problem}", file=file, key=where) from error
    return service_config({} if data is None else data, file, env)


def service_config(
    data: Any, file: str = "<config>", env: Mapping[str, str] | None = None
) -> ServiceConfig:
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping of sections", file=file)
    env = env or {}
    top = Section(apply_environment(data, env), file)
    top.only(sorted((*CORE_SECTIONS, *SHELL_SECTIONS)))
    return ServiceConfig(
        core=core_config(top),
        kafka=parse_kafka(top.section("kafka")),
        opensearch=parse_opensearch(top.section("opensearch")),
        metrics=_metrics(top.section("metrics")),
        api=parse_api(top.section("api"), env),
        shutdown_deadline_s=top.number("shutdown_deadline_s", 30.0, SECONDS),
        file=file,
    )


def _metrics(section: Section) -> MetricsConfig:
    section.only(["max_label_sets", "port", "address"])
    return MetricsConfig(
        max_label_sets=section.integer("max_label_sets", DEFAULT_MAX_LABEL_SETS, COUNT),
        port=section.integer("port", 9108, PORT),
        address=section.string("address", "127.0.0.1"),
    )
