"""CloudWatch metric filters: a filter pattern plus one metric transformation.

Stable API::

    metric_filter = compile_metric_filter(definition)   # PutMetricFilter or CloudFormation shape
    metric_filter.evaluate(message, timestamp)           # -> list[MetricSample]

The semantics are AWS's as recorded (``reference/filter-patterns.md`` §6): a
matching event publishes ``metricValue``; every non-matching event publishes
``defaultValue`` when there is one; a missing or null value publishes the
default, a non-numeric one nothing; dimensions are all-or-none.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import MetricFilterError, PatternError
from pipeline.metric_definition import MetricFilterDefinition, normalise_definition
from pipeline.metric_sample import MetricSample
from pipeline.patterns import (
    MISSING,
    FilterPattern,
    Match,
    ParsedMessage,
    Selector,
    compile_pattern,
    compile_selector,
)
from pipeline.patterns.base import as_parsed
from pipeline.patterns.values import canonical_number_text, parse_number

__all__ = ["MetricFilter", "MetricSample", "compile_metric_filter"]


@dataclass(frozen=True, slots=True)
class _Constant:
    value: float


@dataclass(frozen=True, slots=True)
class _JsonValue:
    selector: Selector


@dataclass(frozen=True, slots=True)
class _FieldValue:
    name: str  # "$size" or "$7"


_ValueSource = _Constant | _JsonValue | _FieldValue
_Extracted = float | None | object  # a number, None (missing/null) or _NOT_A_NUMBER
_NOT_A_NUMBER = object()


class MetricFilter:
    """A compiled metric filter; ``evaluate`` is the per-event hot path."""

    __slots__ = (
        "_default",
        "_dimensions",
        "_glob",
        "_system_dimensions",
        "_value",
        "definition",
        "pattern",
    )

    def __init__(
        self,
        definition: MetricFilterDefinition,
        pattern: FilterPattern,
        value: _ValueSource,
        dimensions: tuple[tuple[str, _ValueSource], ...],
    ) -> None:
        self.definition = definition
        self.pattern = pattern
        self._value = value
        self._default = definition.default_value
        self._dimensions = dimensions
        self._system_dimensions = definition.system_dimensions
        group = definition.log_group_name
        self._glob = re.compile(fnmatch.translate(group)) if group and _is_glob(group) else None

    @property
    def name(self) -> str:
        return self.definition.filter_name

    def applies_to(self, log_group: str) -> bool:
        """Whether this filter watches ``log_group`` (exact name or glob; no name: every group)."""
        wanted = self.definition.log_group_name
        if not wanted:
            return True
        if self._glob is not None:
            return self._glob.match(log_group) is not None
        return wanted == log_group

    def evaluate(
        self,
        message: str | ParsedMessage,
        timestamp: int,
        *,
        system_fields: Mapping[str, str] | None = None,
    ) -> list[MetricSample]:
        """The datapoints one log event yields: none or one.

        ``system_fields`` gives ``@aws.account`` / ``@aws.region`` for filters
        that emit them as dimensions.
        """
        view = as_parsed(message)
        match = self.pattern.match(view)
        if match is None:
            if self._default is None:
                return []
            return [self._sample({}, self._default, timestamp)]
        value = self._extract(self._value, view, match)
        if value is None:
            if self._default is None:
                return []
            value = self._default
        elif value is _NOT_A_NUMBER:
            return []
        assert isinstance(value, float)
        return [self._sample(self._labels(view, match, system_fields), value, timestamp)]

    def _labels(
        self, view: ParsedMessage, match: Match, system_fields: Mapping[str, str] | None
    ) -> dict[str, str]:
        labels: dict[str, str] = {}
        for key, source in self._dimensions:
            text = _dimension_text(self._raw(source, view, match))
            if text is None:
                return {}  # never a partial dimension set
            labels[key] = text
        for field in self._system_dimensions:
            found = system_fields.get(field) if system_fields else None
            if not found:
                return {}
            labels[field] = found
        return labels

    def _sample(self, dimensions: dict[str, str], value: float, timestamp: int) -> MetricSample:
        definition = self.definition
        return MetricSample(
            definition.metric_namespace,
            definition.metric_name,
            dimensions,
            value,
            definition.unit,
            timestamp,
        )

    @staticmethod
    def _raw(source: _ValueSource, view: ParsedMessage, match: Match) -> Any:
        if isinstance(source, _Constant):
            return source.value
        if isinstance(source, _JsonValue):
            document = view.json_object
            return MISSING if document is None else source.selector.resolve(document)
        return _field(match, source.name)

    def _extract(self, source: _ValueSource, view: ParsedMessage, match: Match) -> _Extracted:
        raw = self._raw(source, view, match)
        if raw is MISSING or raw is None:
            return None
        if type(raw) is bool:
            return _NOT_A_NUMBER
        if isinstance(raw, int | float):
            number: float = float(raw)
        elif isinstance(raw, str):
            parsed = parse_number(raw.strip())
            if parsed is None:
                return _NOT_A_NUMBER
            number = float(parsed)
        else:
            return _NOT_A_NUMBER
        return number if math.isfinite(number) else _NOT_A_NUMBER

    def __repr__(self) -> str:
        return f"MetricFilter({self.name!r}, {self.pattern.text!r})"


def compile_metric_filter(definition: Mapping[str, Any]) -> MetricFilter:
    """Compile a definition in the PutMetricFilter or the CloudFormation shape.

    An invalid definition raises :class:`MetricFilterError` with AWS's message
    where AWS's is known.
    """
    normal = normalise_definition(definition)
    try:
        pattern = compile_pattern(normal.filter_pattern)
    except PatternError as error:
        raise MetricFilterError(
            f"Invalid filter pattern: {error.reason} (at position {error.position})",
            field="filterPattern",
        ) from error
    value = _value_source(normal.metric_value, pattern)
    # System-field dimensions need no field of the event, so any pattern kind may have them.
    if normal.dimensions and not pattern.supports_dimensions:
        raise MetricFilterError("The specified filter pattern does not support dimensions")
    dimensions = tuple(
        (key, _dimension_source(key, text, pattern)) for key, text in normal.dimensions
    )
    if dimensions and normal.default_value is not None:
        raise MetricFilterError(
            "Invalid metric transformation: a default value cannot be combined with dimensions"
        )
    return MetricFilter(normal, pattern, value, dimensions)


def _value_source(text: str, pattern: FilterPattern) -> _ValueSource:
    invalid = f"Invalid metric transformation: metric value {text} must be a valid number"
    if text.startswith("$."):
        return _json_value(text, invalid)
    if text.startswith("$"):
        if pattern.kind != "delimited" or not _is_field_name(text[1:]):
            raise MetricFilterError(invalid)
        return _FieldValue(text)
    number = parse_number(text.strip())
    if number is None or not math.isfinite(number):
        raise MetricFilterError(invalid)
    return _Constant(float(number))


def _dimension_source(key: str, text: str, pattern: FilterPattern) -> _ValueSource:
    invalid = f"Invalid dimension value for {key}: {text} must be a field of the filter pattern"
    if text.startswith("$."):
        return _json_value(text, invalid)
    if text.startswith("$") and pattern.kind == "delimited" and _is_field_name(text[1:]):
        return _FieldValue(text)
    raise MetricFilterError(invalid)


def _json_value(text: str, invalid: str) -> _JsonValue:
    """A ``$.selector`` naming one value: a wildcard cannot give one number or one dimension."""
    try:
        selector = compile_selector(text)
    except PatternError as error:
        raise MetricFilterError(f"{invalid}: {error.reason}") from error
    if selector.has_wildcard:
        raise MetricFilterError(invalid)
    return _JsonValue(selector)


def _field(match: Match, name: str) -> Any:
    """``$size`` by name, ``$7`` by position even when the seventh field has a name."""
    values = match.extracted_values
    if name in values:
        return values[name]
    digits = name[1:]
    if digits.isdigit():
        position = int(digits)
        ordered = list(values.values())
        if 1 <= position <= len(ordered):
            return ordered[position - 1]
    return MISSING


def _dimension_text(raw: Any) -> str | None:
    """A dimension value as CloudWatch shows it; None when there is none to show."""
    if raw is MISSING or raw is None:
        return None
    if type(raw) is bool:
        return "true" if raw else "false"
    if isinstance(raw, int | float):
        return canonical_number_text(raw) if isinstance(raw, float) else str(raw)
    if isinstance(raw, str):
        return raw or None
    return None  # objects and arrays are not dimension values


def _is_field_name(text: str) -> bool:
    return bool(text) and (text.isdigit() or text.replace("_", "a").isalnum())


def _is_glob(name: str) -> bool:
    # CloudWatch log group names never contain these, so a name holding one is a glob.
    return any(character in name for character in "*?[")
