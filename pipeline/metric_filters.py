"""CloudWatch metric filters: a filter pattern plus one metric transformation.

Stable API::

    metric_filter = compile_metric_filter(definition)   # PutMetricFilter or CloudFormation shape
    metric_filter.evaluate(message, timestamp)           # -> list[MetricSample]
    filters = MetricFilterSet([metric_filter, ...])      # many filters over one event
    filters.evaluate(message, timestamp)                 # -> the same samples, in filter order

The semantics are AWS's as recorded (``reference/filter-patterns.md`` §6): a
matching event publishes ``metricValue``; every non-matching event publishes
``defaultValue`` when there is one; a missing or null value publishes the
default, a non-numeric one nothing; dimensions are all-or-none.

Speed: a filter first checks the texts its pattern needs (one or two substring
searches) before any parsing; a :class:`MetricFilterSet` finds the filters
whose texts occur with one pass over the message for all of them
(:mod:`pipeline.patterns.prefilter`). Neither changes a result.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pipeline.errors import MetricFilterError, PatternError
from pipeline.metric_definition import MetricFilterDefinition, normalise_definition
from pipeline.metric_sample import MetricSample
from pipeline.patterns import (
    MISSING,
    DelimitedPattern,
    FilterPattern,
    ParsedMessage,
    Selector,
    compile_pattern,
    compile_selector,
)
from pipeline.patterns.base import as_parsed
from pipeline.patterns.prefilter import PatternIndex, may_match
from pipeline.patterns.values import canonical_number_text, parse_number

__all__ = ["MetricFilter", "MetricFilterSet", "MetricSample", "compile_metric_filter"]


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
_Step = Callable[[ParsedMessage, int, Mapping[str, str] | None], list[MetricSample]]
_Extracted = float | None | object  # a number, None (missing/null) or _NOT_A_NUMBER
_NOT_A_NUMBER = object()
_NOTHING_EXTRACTED: Mapping[str, str] = MappingProxyType({})  # what other kinds extract


class MetricFilter:
    """A compiled metric filter; ``evaluate`` is the per-event hot path."""

    __slots__ = (
        "_constant",
        "_default",
        "_dimensions",
        "_extract",
        "_glob",
        "_identity",
        "_matches",
        "_may_match",
        "_plain",
        "_read_value",
        "_system_dimensions",
        "definition",
        "pattern",
    )

    def __init__(
        self,
        definition: MetricFilterDefinition,
        pattern: FilterPattern,
        value: _ValueSource,
        dimensions: tuple[tuple[str, _ValueSource], ...],
        *,
        prefilter: bool = True,
    ) -> None:
        self.definition = definition
        self.pattern = pattern
        self._may_match = may_match(pattern.needs) if prefilter else None
        self._matches = pattern.matches
        # Without the prefilter, values come out of the whole Match as TestMetricFilter
        # shows it: the plain evaluation the faster one is tested against. With it, a
        # space-delimited value is read alone, and the other kinds extract nothing.
        delimited = pattern if isinstance(pattern, DelimitedPattern) else None
        self._extract = delimited.extract if delimited and not prefilter else None
        fields = delimited if prefilter else None
        # What each event needs is decided here once: a reader per value source, and
        # whether any labels can exist at all.
        self._constant = value.value if isinstance(value, _Constant) else None
        self._read_value = _reader(value, fields)
        self._default = definition.default_value
        self._dimensions = tuple((key, _reader(source, fields)) for key, source in dimensions)
        self._system_dimensions = definition.system_dimensions
        self._plain = not dimensions and not definition.system_dimensions
        self._identity = (definition.metric_namespace, definition.metric_name, definition.unit)
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
        view = message if isinstance(message, ParsedMessage) else ParsedMessage(message)
        check = self._may_match
        if check is not None and not check(view.text):  # the usual answer: inlined
            if self._default is None:
                return []
            return self._unmatched(view, timestamp, system_fields)
        return self._matched_or_not(view, timestamp, system_fields)

    def _unmatched(
        self, view: ParsedMessage, timestamp: int, system_fields: Mapping[str, str] | None
    ) -> list[MetricSample]:
        """What an event the pattern does not match yields (the arguments are the event's)."""
        if self._default is None:
            return []
        namespace, name, unit = self._identity
        return [MetricSample(namespace, name, {}, self._default, unit, timestamp)]

    def _matched_or_not(
        self, view: ParsedMessage, timestamp: int, system_fields: Mapping[str, str] | None
    ) -> list[MetricSample]:
        """``evaluate`` once the texts the pattern needs are known to occur."""
        extracted: Mapping[str, str] | None
        if self._extract is not None:
            extracted = self._extract(view)
        else:
            extracted = _NOTHING_EXTRACTED if self._matches(view) else None
        if extracted is None:
            if self._default is None:
                return []
            return self._unmatched(view, timestamp, system_fields)
        value = self._constant
        if value is None:
            number = _number(self._read_value(view, extracted))
            if number is None:
                if self._default is None:
                    return []
                number = self._default
            elif number is _NOT_A_NUMBER:
                return []
            assert isinstance(number, float)
            value = number
        labels = {} if self._plain else self._labels(view, extracted, system_fields)
        namespace, name, unit = self._identity
        return [MetricSample(namespace, name, labels, value, unit, timestamp)]

    def _labels(
        self,
        view: ParsedMessage,
        extracted: Mapping[str, str],
        system_fields: Mapping[str, str] | None,
    ) -> dict[str, str]:
        labels: dict[str, str] = {}
        for key, read in self._dimensions:
            text = _dimension_text(read(view, extracted))
            if text is None:
                return {}  # never a partial dimension set
            labels[key] = text
        for field in self._system_dimensions:
            found = system_fields.get(field) if system_fields else None
            if not found:
                return {}
            labels[field] = found
        return labels

    def __repr__(self) -> str:
        return f"MetricFilter({self.name!r}, {self.pattern.text!r})"


_Reader = Callable[[ParsedMessage, Mapping[str, str]], Any]


def _reader(source: _ValueSource, fields: DelimitedPattern | None) -> _Reader:
    """The raw value a source names in one event (MISSING when absent), one closure per kind.

    ``fields``: the space-delimited pattern to read a field from directly, rather
    than from the extracted values.
    """
    if isinstance(source, _Constant):
        constant = source.value
        return lambda view, extracted: constant
    if isinstance(source, _FieldValue):
        name = source.name
        if fields is not None:
            read = fields.value_reader(name)
            return lambda view, extracted: read(view)
        return lambda view, extracted: _field(extracted, name)
    selector = source.selector
    if len(selector.prefix) == 1 and isinstance(selector.prefix[0], str):
        key = selector.prefix[0]  # "$.latency": one lookup in the (always dict) document

        def top_level(view: ParsedMessage, extracted: Mapping[str, str]) -> Any:
            document = view.json_object
            return MISSING if document is None else document.get(key, MISSING)

        return top_level
    resolve = selector.resolve

    def nested(view: ParsedMessage, extracted: Mapping[str, str]) -> Any:
        document = view.json_object
        return MISSING if document is None else resolve(document)

    return nested


def _number(raw: Any) -> _Extracted:
    """A metric value: a finite double, None (missing or null) or _NOT_A_NUMBER.

    Values come from JSON or from a line's text, so their types are exact; a
    boolean, an object or an array is not a number, and neither is one a double
    cannot hold (``1e400``, or an integer of 400 digits, which the lenient JSON
    parse admits).
    """
    kind = type(raw)
    parsed: int | float | None
    if kind is int or kind is float:
        parsed = raw
    elif kind is str:
        parsed = parse_number(raw.strip())
    elif raw is MISSING or raw is None:
        return None
    else:
        return _NOT_A_NUMBER
    if parsed is None:
        return _NOT_A_NUMBER
    try:
        number = float(parsed)
    except OverflowError:
        return _NOT_A_NUMBER
    return number if math.isfinite(number) else _NOT_A_NUMBER


class MetricFilterSet:
    """Many metric filters evaluated over one event, running only those that may match.

    Every event meets every filter that watches its log group, and most filters
    need a text the event lacks; one pass over the message for all of them
    (:class:`~pipeline.patterns.prefilter.PatternIndex`) replaces a pass per
    filter. Filters with a default value publish on every event, so they are
    always run. ``evaluate`` returns what calling each filter's ``evaluate`` in
    order returns, concatenated.
    """

    __slots__ = ("_index", "filters")

    def __init__(self, filters: Iterable[MetricFilter]) -> None:
        self.filters = tuple(filters)
        # A candidate runs its pattern; a filter ruled out still owes its default value.
        self._index: PatternIndex[_Step] = PatternIndex(
            (
                f.pattern.needs,
                f._matched_or_not,
                None if f.definition.default_value is None else f._unmatched,
            )
            for f in self.filters
        )

    def evaluate(
        self,
        message: str | ParsedMessage,
        timestamp: int,
        *,
        system_fields: Mapping[str, str] | None = None,
    ) -> list[MetricSample]:
        """Every filter's datapoints for one event, in filter order."""
        view = as_parsed(message)
        samples: list[MetricSample] = []
        for step in self._index.candidates(view.text):
            samples += step(view, timestamp, system_fields)
        return samples

    def __iter__(self) -> Iterator[MetricFilter]:
        return iter(self.filters)

    def __len__(self) -> int:
        return len(self.filters)

    def __repr__(self) -> str:
        return f"MetricFilterSet({len(self.filters)} filters)"


def compile_metric_filter(definition: Mapping[str, Any], *, prefilter: bool = True) -> MetricFilter:
    """Compile a definition in the PutMetricFilter or the CloudFormation shape.

    An invalid definition raises :class:`MetricFilterError` with AWS's message
    where AWS's is known. ``prefilter=False`` skips the check of the texts the
    pattern needs: the plain, slower evaluation that prefiltered results are
    tested against.
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
    return MetricFilter(normal, pattern, value, dimensions, prefilter=prefilter)


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


def _field(values: Mapping[str, str], name: str) -> Any:
    """``$size`` by name, ``$7`` by position even when the seventh field has a name."""
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
