"""The pipeline's configuration: YAML text in, a validated, typed config out.

Every problem is a :class:`ConfigError` naming the file, the key path
(``metric_filters[2].metricTransformations``) and the reason, so a broken
config stops start-up with something an operator can act on. Reading the file
is the shell's business; this module only parses text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline.errors import ConfigError, MetricFilterError
from pipeline.invocations import ARCHITECTURES, LambdaPrices
from pipeline.metric_filters import MetricFilter, compile_metric_filter

__all__ = ["LambdaConfig", "MetricsConfig", "PipelineConfig", "config_from_mapping", "parse_config"]

_TOP_LEVEL = {"aws_region", "lambda", "metric_filters", "metrics"}
DEFAULT_MAX_LABEL_SETS = 1000


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    #: at most this many label sets per exported metric; samples for more are dropped and counted
    max_label_sets: int = DEFAULT_MAX_LABEL_SETS


@dataclass(frozen=True, slots=True)
class LambdaConfig:
    enabled: bool = True
    prices: LambdaPrices = field(default_factory=LambdaPrices)
    architectures: tuple[tuple[str, str], ...] = ()  # (function-name glob, architecture)
    default_architecture: str = "x86_64"


@dataclass(frozen=True, slots=True)
class PipelineConfig:
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    lambda_: LambdaConfig = field(default_factory=LambdaConfig)
    metric_filters: tuple[MetricFilter, ...] = ()
    #: the value of the ``@aws.region`` system-field dimension (payloads carry the account only)
    aws_region: str | None = None
    file: str | None = None


def parse_config(text: str, file: str = "<config>") -> PipelineConfig:
    """Parse and validate YAML (or JSON, which is YAML) configuration text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else None
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"not valid YAML: {problem}", file=file, key=where) from error
    return config_from_mapping({} if data is None else data, file)


def config_from_mapping(data: Any, file: str = "<config>") -> PipelineConfig:
    if not isinstance(data, Mapping):
        raise ConfigError("the configuration must be a mapping of sections", file=file)
    _refuse_unknown(data, _TOP_LEVEL, "", file)
    region = data.get("aws_region")
    if region is not None and (not isinstance(region, str) or not region):
        raise ConfigError("must be a region name such as eu-west-1", file=file, key="aws_region")
    return PipelineConfig(
        metrics=_metrics(data.get("metrics") or {}, file),
        lambda_=_lambda(data.get("lambda") or {}, file),
        metric_filters=_metric_filters(data.get("metric_filters") or [], file),
        aws_region=region,
        file=file,
    )


def _refuse_unknown(data: Mapping[str, Any], known: set[str], prefix: str, file: str) -> None:
    for key in data:
        if key not in known:
            raise ConfigError(
                f"unknown key; expected one of {', '.join(sorted(known))}",
                file=file,
                key=f"{prefix}{key}",
            )


def _section(data: Any, key: str, file: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError("must be a mapping", file=file, key=key)
    return data


def _metrics(data: Any, file: str) -> MetricsConfig:
    section = _section(data, "metrics", file)
    _refuse_unknown(section, {"max_label_sets"}, "metrics.", file)
    cap = section.get("max_label_sets", DEFAULT_MAX_LABEL_SETS)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ConfigError("must be a positive integer", file=file, key="metrics.max_label_sets")
    return MetricsConfig(max_label_sets=cap)


def _lambda(data: Any, file: str) -> LambdaConfig:
    section = _section(data, "lambda", file)
    _refuse_unknown(
        section, {"enabled", "prices", "architectures", "default_architecture"}, "lambda.", file
    )
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("must be true or false", file=file, key="lambda.enabled")
    default_architecture = section.get("default_architecture", "x86_64")
    _architecture(default_architecture, "lambda.default_architecture", file)
    architectures = _section(section.get("architectures") or {}, "lambda.architectures", file)
    for glob, architecture in architectures.items():
        _architecture(architecture, f"lambda.architectures.{glob}", file)
    return LambdaConfig(
        enabled=enabled,
        prices=_prices(section.get("prices") or {}, file),
        architectures=tuple((str(glob), str(arch)) for glob, arch in architectures.items()),
        default_architecture=default_architecture,
    )


def _architecture(value: Any, key: str, file: str) -> None:
    if value not in ARCHITECTURES:
        raise ConfigError(f"must be one of {', '.join(ARCHITECTURES)}", file=file, key=key)


def _prices(data: Any, file: str) -> LambdaPrices:
    section = _section(data, "lambda.prices", file)
    defaults = LambdaPrices()
    numbers = ("request_usd", "x86_64_gb_second_usd", "arm64_gb_second_usd")
    _refuse_unknown(section, {*numbers, "as_of"}, "lambda.prices.", file)
    values: dict[str, Any] = {}
    for name in numbers:
        value = section.get(name, getattr(defaults, name))
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(
                "must be a non-negative number", file=file, key=f"lambda.prices.{name}"
            )
        values[name] = float(value)
    as_of = section.get("as_of", defaults.as_of if not section else None)
    if not isinstance(as_of, str | type(None)):
        as_of = str(as_of)  # YAML reads 2025-08-01 as a date
    if section and not as_of:
        raise ConfigError(
            "say when these prices were published (YYYY-MM-DD)",
            file=file,
            key="lambda.prices.as_of",
        )
    return LambdaPrices(as_of=as_of or defaults.as_of, **values)


def _metric_filters(data: Any, file: str) -> tuple[MetricFilter, ...]:
    if not isinstance(data, list):
        raise ConfigError(
            "must be a list of metric filter definitions", file=file, key="metric_filters"
        )
    compiled = []
    for index, definition in enumerate(data):
        try:
            compiled.append(compile_metric_filter(definition))
        except MetricFilterError as error:
            raise ConfigError(str(error), file=file, key=f"metric_filters[{index}]") from error
    return tuple(compiled)
