"""The pipeline's configuration: YAML text in, a validated, typed config out.

Every problem is a :class:`ConfigError` naming the file, the key path
(``routes[1].retention_days``) and the reason, so a broken config stops
start-up with something an operator can act on. Reading the file and the
environment is the shell's business; this module only parses what it is given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline.config_values import COUNT, NON_NEGATIVE, PORT, SECONDS, Section
from pipeline.connection_config import (
    KafkaConfig,
    OpenSearchConfig,
    apply_environment,
    parse_kafka,
    parse_opensearch,
)
from pipeline.errors import ConfigError
from pipeline.invocations import ARCHITECTURES, LambdaPrices
from pipeline.metric_filters import MetricFilter
from pipeline.patterns import MatchAll
from pipeline.routing import Route, Router, parse_metric_filters, parse_route

__all__ = [
    "LambdaConfig",
    "MetricsConfig",
    "PipelineConfig",
    "config_from_mapping",
    "parse_config",
]

DEFAULT_MAX_LABEL_SETS = 1000
_TOP_LEVEL = (
    "aws_region",
    "default_route",
    "kafka",
    "lambda",
    "metric_filters",
    "metrics",
    "opensearch",
    "routes",
    "shutdown_deadline_s",
)


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    #: at most this many label sets per exported metric; samples for more are dropped and counted
    max_label_sets: int = DEFAULT_MAX_LABEL_SETS
    port: int = 9108
    address: str = "127.0.0.1"  # the compose file sets 0.0.0.0 for its network


@dataclass(frozen=True, slots=True)
class LambdaConfig:
    enabled: bool = True
    prices: LambdaPrices = field(default_factory=LambdaPrices)
    architectures: tuple[tuple[str, str], ...] = ()  # (function-name glob, architecture)
    default_architecture: str = "x86_64"


def _default_route() -> Route:
    return Route("default", ("*",), MatchAll(""), "cwl", None)


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    lambda_: LambdaConfig = field(default_factory=LambdaConfig)
    metric_filters: tuple[MetricFilter, ...] = ()
    #: the value of the ``@aws.region`` system-field dimension (payloads carry the account only)
    aws_region: str | None = None
    kafka: KafkaConfig = field(default_factory=KafkaConfig)
    opensearch: OpenSearchConfig = field(default_factory=OpenSearchConfig)
    routes: tuple[Route, ...] = ()
    default_route: Route = field(default_factory=_default_route)
    shutdown_deadline_s: float = 30.0
    file: str | None = None

    def router(self) -> Router:
        return Router(self.routes, self.default_route)


def parse_config(
    text: str, file: str = "<config>", env: Mapping[str, str] | None = None
) -> PipelineConfig:
    """Parse and validate YAML (or JSON) configuration text, with ``env`` overrides applied."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"not valid YAML: {problem}", file=file, key=where) from error
    return config_from_mapping({} if data is None else data, file, env)


def config_from_mapping(
    data: Any, file: str = "<config>", env: Mapping[str, str] | None = None
) -> PipelineConfig:
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping of sections", file=file)
    top = Section(apply_environment(data, env or {}), file)
    top.only(_TOP_LEVEL)
    routes, default = _routes(top), _default(top)
    _check_prefixes(top, (*routes, default))
    return PipelineConfig(
        metrics=_metrics(top.section("metrics")),
        lambda_=_lambda(top.section("lambda")),
        metric_filters=parse_metric_filters(top, top.raw("metric_filters") or []),
        aws_region=top.optional_string("aws_region"),
        kafka=parse_kafka(top.section("kafka")),
        opensearch=parse_opensearch(top.section("opensearch")),
        routes=routes,
        default_route=default,
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


def _lambda(section: Section) -> LambdaConfig:
    section.only(["enabled", "prices", "architectures", "default_architecture"])
    architectures = section.section("architectures")
    for glob in architectures.data:
        architectures.choice(glob, ARCHITECTURES)
    return LambdaConfig(
        enabled=section.boolean("enabled", True),
        prices=_prices(section.section("prices")),
        architectures=tuple((str(g), str(a)) for g, a in architectures.data.items()),
        default_architecture=section.choice("default_architecture", ARCHITECTURES, "x86_64"),
    )


def _prices(section: Section) -> LambdaPrices:
    defaults = LambdaPrices()
    numbers = ("request_usd", "x86_64_gb_second_usd", "arm64_gb_second_usd")
    section.only([*numbers, "as_of"])
    if not section.data:
        return defaults
    values = {name: section.number(name, getattr(defaults, name), NON_NEGATIVE) for name in numbers}
    as_of = section.raw("as_of")
    if not as_of:
        raise section.error("as_of", "say when these prices were published (YYYY-MM-DD)")
    return LambdaPrices(as_of=str(as_of), **values)  # YAML reads 2025-08-01 as a date


def _routes(top: Section) -> tuple[Route, ...]:
    raw = top.raw("routes") or []
    if not isinstance(raw, list):
        raise top.error("routes", "must be a list of routes")
    return tuple(
        parse_route(Section(item, top.file, f"routes[{index}]"), f"route-{index + 1}")
        for index, item in enumerate(raw)
    )


def _default(top: Section) -> Route:
    if top.raw("default_route") is None:
        return _default_route()
    return parse_route(top.section("default_route"), "default", default=True)


def _check_prefixes(top: Section, routes: tuple[Route, ...]) -> None:
    """Two routes writing one index prefix must agree on its retention."""
    seen: dict[str, tuple[int, Route]] = {}
    for index, route in enumerate(routes):
        earlier = seen.setdefault(route.index_prefix, (index, route))
        if earlier[1].retention_days != route.retention_days:
            where = "default_route" if index == len(routes) - 1 else f"routes[{index}]"
            raise top.error(
                f"{where}.retention_days",
                f"index prefix {route.index_prefix!r} already has retention "
                f"{earlier[1].retention_days or 'never'} in routes[{earlier[0]}]",
            )
