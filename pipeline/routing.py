"""Routes: which log groups go where, what is kept, how long it is retained.

A route matches log groups by glob and gives a subscription filter pattern
(events it does not match are dropped and counted), an index prefix (day
indices ``<prefix>-YYYY.MM.DD``), a retention in CloudWatch's allowed days or
an explicit ``never``, the ``json_fields`` policy and the route's own metric
filters. The first route whose glob matches wins; the default route takes
the rest.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.config_values import Section
from pipeline.documents import JsonFields
from pipeline.errors import MetricFilterError, PatternError
from pipeline.metric_filters import MetricFilter, compile_metric_filter
from pipeline.patterns import FilterPattern, compile_pattern

__all__ = [
    "RETENTION_DAYS",
    "Route",
    "Router",
    "day_pattern",
    "parse_metric_filters",
    "parse_route",
]

# PutRetentionPolicy's allowed retentionInDays.
RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545,
    731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
JSON_FIELDS: tuple[JsonFields, ...] = ("merge", "nest", "off")
# OpenSearch index names: lowercase, none of \ / * ? " < > | space , # :, not starting - _ +.
_INDEX_PREFIX = re.compile(r"^[a-z0-9][a-z0-9._-]{0,199}$")
_MAX_CACHED_GROUPS = 10_000


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    log_groups: tuple[str, ...]
    filter_pattern: FilterPattern
    index_prefix: str
    retention_days: int | None  # None: never expire, said explicitly
    json_fields: JsonFields = "merge"
    json_key: str = "json"
    metric_filters: tuple[MetricFilter, ...] = ()

    def matches(self, log_group: str) -> bool:
        return any(fnmatch.fnmatchcase(log_group, glob) for glob in self.log_groups)

    @property
    def index_pattern(self) -> str:
        """The route's day indices only (``cwl-2*``), so ``cwl`` never claims ``cwl-web-*``."""
        return day_pattern(self.index_prefix)


def day_pattern(index_prefix: str) -> str:
    return f"{index_prefix}-2*"


def parse_route(section: Section, name: str, *, default: bool = False) -> Route:
    keys = [
        "name",
        "filter_pattern",
        "index_prefix",
        "retention_days",
        "json_fields",
        "json_key",
        "metric_filters",
    ]
    section.only(keys if default else [*keys, "log_groups"])
    log_groups = ("*",) if default else section.strings("log_groups")
    pattern_text = section.raw("filter_pattern", "")
    if not isinstance(pattern_text, str):
        raise section.error("filter_pattern", "must be a string (a CloudWatch filter pattern)")
    try:
        pattern = compile_pattern(pattern_text)
    except PatternError as error:
        raise section.error(
            "filter_pattern", f"{error.reason} (at position {error.position})"
        ) from error
    prefix = section.string("index_prefix", "cwl")
    if not _INDEX_PREFIX.match(prefix):
        raise section.error(
            "index_prefix", "must be a lowercase OpenSearch index name (a-z 0-9 . _ -)"
        )
    return Route(
        name=section.string("name", name),
        log_groups=log_groups,
        filter_pattern=pattern,
        index_prefix=prefix,
        retention_days=_retention(section),
        json_fields=_json_fields(section),
        json_key=section.string("json_key", "json"),
        metric_filters=parse_metric_filters(section, section.raw("metric_filters", [])),
    )


def _retention(section: Section) -> int | None:
    if "retention_days" not in section.data:
        raise section.error(
            "retention_days",
            "is required: one of CloudWatch's values ("
            + ", ".join(map(str, RETENTION_DAYS))
            + ") or never",
        )
    value = section.raw("retention_days")
    if value == "never":
        return None
    if isinstance(value, bool) or value not in RETENTION_DAYS:
        raise section.error(
            "retention_days",
            f"{value!r} is not one of CloudWatch's values ("
            + ", ".join(map(str, RETENTION_DAYS))
            + ") or never",
        )
    return int(value)


def _json_fields(section: Section) -> JsonFields:
    value = section.raw("json_fields", "merge")
    if value is False:  # YAML reads a bare off as false
        value = "off"
    for choice in JSON_FIELDS:
        if value == choice:
            return choice
    raise section.error("json_fields", "must be one of merge, nest, off")


def parse_metric_filters(section: Section, definitions: Any) -> tuple[MetricFilter, ...]:
    """The ``metric_filters`` list of ``section``, each error under its index."""
    if not isinstance(definitions, list):
        raise section.error("metric_filters", "must be a list of metric filter definitions")
    compiled = []
    for index, definition in enumerate(definitions):
        try:
            compiled.append(compile_metric_filter(definition))
        except MetricFilterError as error:
            key = f"metric_filters[{index}]"
            if error.field is not None:
                key += f".{_spelling(definition, error.field)}"
            raise section.error(key, str(error)) from error
    return tuple(compiled)


def _spelling(definition: Any, field: str) -> str:
    """The field as the definition spells it: camelCase (API) or PascalCase (CloudFormation)."""
    pascal = field[:1].upper() + field[1:]
    return pascal if isinstance(definition, Mapping) and pascal in definition else field


class Router:
    """log group -> route, cached (a deployment sees few groups, each many times)."""

    def __init__(self, routes: tuple[Route, ...], default: Route) -> None:
        self.routes = routes
        self.default = default
        self._cache: dict[str, Route] = {}

    @property
    def all_routes(self) -> tuple[Route, ...]:
        return (*self.routes, self.default)

    def route(self, log_group: str) -> Route:
        found = self._cache.get(log_group)
        if found is None:
            found = next((r for r in self.routes if r.matches(log_group)), self.default)
            if len(self._cache) < _MAX_CACHED_GROUPS:
                self._cache[log_group] = found
        return found
