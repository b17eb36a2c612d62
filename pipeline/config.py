"""The core's part of the configuration: routes, metric filters, Lambda prices, the region.

The shell reads the file, applies the environment and keeps the connection
settings (:mod:`consumers.config`); the core is handed only the sections it
uses, as a :class:`Section`, and validates them. Every problem is a
:class:`ConfigError` naming the file, the key path (``routes[1].retention_days``)
and the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipeline.config_values import NON_NEGATIVE, Section
from pipeline.errors import ConfigError
from pipeline.invocations import ARCHITECTURES, LambdaPrices
from pipeline.metric_filters import MetricFilter
from pipeline.patterns import MatchAll
from pipeline.routing import Route, Router, parse_metric_filters, parse_route
from pipeline.traces.settings import TracesConfig, parse_traces

__all__ = [
    "CORE_SECTIONS",
    "LambdaConfig",
    "PipelineConfig",
    "config_from_mapping",
    "core_config",
]

#: the top-level keys of a config file that belong to the core
CORE_SECTIONS = ("aws_region", "default_route", "lambda", "metric_filters", "routes", "traces")


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
    lambda_: LambdaConfig = field(default_factory=LambdaConfig)
    metric_filters: tuple[MetricFilter, ...] = ()
    #: the value of the ``@aws.region`` system-field dimension (payloads carry the account only)
    aws_region: str | None = None
    routes: tuple[Route, ...] = ()
    default_route: Route = field(default_factory=_default_route)
    traces: TracesConfig = field(default_factory=TracesConfig)
    file: str | None = None

    def router(self) -> Router:
        return Router(self.routes, self.default_route)


def config_from_mapping(data: Any, file: str = "<config>") -> PipelineConfig:
    """The core config from a mapping holding only the core's sections (tests, benchmarks)."""
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping of sections", file=file)
    top = Section(data, file)
    top.only(CORE_SECTIONS)
    return core_config(top)


def core_config(top: Section) -> PipelineConfig:
    """The core's sections of a config's top level; other keys are the caller's business."""
    routes, default = _routes(top), _default(top)
    _check_prefixes(top, (*routes, default))
    return PipelineConfig(
        lambda_=_lambda(top.section("lambda")),
        metric_filters=parse_metric_filters(top, top.raw("metric_filters") or []),
        aws_region=top.optional_string("aws_region"),
        routes=routes,
        default_route=default,
        traces=parse_traces(top.section("traces")),
        file=top.file,
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
