"""Metric filter definitions in either shape users already have, validated as AWS validates them.

``PutMetricFilter`` (camelCase, ``dimensions`` a map) and CloudFormation's
``AWS::Logs::MetricFilter`` (PascalCase, ``Dimensions: [{Key, Value}]``, the
whole resource or its ``Properties``) both become one
:class:`MetricFilterDefinition`, so definitions paste in unchanged.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.errors import MetricFilterError
from pipeline.metric_sample import STANDARD_UNITS

__all__ = ["MetricFilterDefinition", "normalise_definition"]

SYSTEM_FIELDS = ("@aws.account", "@aws.region")
MAX_DIMENSIONS = 3  # including the system-field dimensions
_MAX_NAME = 255
_FORBIDDEN_IN_METRIC_NAMES = ":*$"

_API_KEYS = {
    "filterName",
    "filterPattern",
    "logGroupName",
    "metricTransformations",
    "applyOnTransformedLogs",
    "emitSystemFieldDimensions",
    "fieldSelectionCriteria",
    "prometheus",
}
_API_TRANSFORMATION_KEYS = {
    "metricName",
    "metricNamespace",
    "metricValue",
    "defaultValue",
    "dimensions",
    "unit",
}
# CloudFormation's property names, mapped to the API's.
_CFN_KEYS = {
    "FilterName": "filterName",
    "FilterPattern": "filterPattern",
    "LogGroupName": "logGroupName",
    "MetricTransformations": "metricTransformations",
    "ApplyOnTransformedLogs": "applyOnTransformedLogs",
    "EmitSystemFieldDimensions": "emitSystemFieldDimensions",
    "FieldSelectionCriteria": "fieldSelectionCriteria",
    "prometheus": "prometheus",
}
_CFN_TRANSFORMATION_KEYS = {
    "MetricName": "metricName",
    "MetricNamespace": "metricNamespace",
    "MetricValue": "metricValue",
    "DefaultValue": "defaultValue",
    "Dimensions": "dimensions",
    "Unit": "unit",
}


@dataclass(frozen=True, slots=True)
class MetricFilterDefinition:
    filter_name: str
    filter_pattern: str
    log_group_name: str | None  # exact name or glob; None: whatever route it sits in
    metric_name: str
    metric_namespace: str
    metric_value: str
    default_value: float | None
    unit: str
    dimensions: tuple[tuple[str, str], ...]  # (key, field reference)
    system_dimensions: tuple[str, ...]
    histogram_buckets: tuple[float, ...] | None = None  # export as a histogram, not a summary


def normalise_definition(definition: Mapping[str, Any]) -> MetricFilterDefinition:
    """One validated definition from either shape; :class:`MetricFilterError` says what is wrong."""
    if not isinstance(definition, Mapping):
        raise MetricFilterError("A metric filter definition must be a mapping")
    cloudformation = False
    if "Properties" in definition and "Type" in definition:
        if definition["Type"] != "AWS::Logs::MetricFilter":
            raise MetricFilterError(
                f"Resource type {definition['Type']!r} is not AWS::Logs::MetricFilter"
            )
        definition = _mapping(definition["Properties"], "Properties")
        cloudformation = True
    elif any(key in _CFN_KEYS and key != "prometheus" for key in definition):
        cloudformation = True
    top = _from_cloudformation(definition) if cloudformation else dict(definition)
    _refuse_unknown(top, _API_KEYS, "")
    transformations = _required(top, "metricTransformations", "")
    if not isinstance(transformations, list):
        raise MetricFilterError(
            "Invalid type for parameter metricTransformations, value: "
            f"{transformations!r}, valid types: list"
        )
    if len(transformations) != 1:
        raise MetricFilterError(
            f"Invalid length for parameter metricTransformations, value: {len(transformations)}, "
            "valid min length: 1, valid max length: 1"
        )
    transformation = _mapping(transformations[0], "metricTransformations[0]")
    _refuse_unknown(transformation, _API_TRANSFORMATION_KEYS, "metricTransformations[0].")
    where = "metricTransformations.1.member"
    metric_name = _metric_name(_required(transformation, "metricName", where), where)
    namespace = _metric_name(
        _required(transformation, "metricNamespace", where), where, "Namespace"
    )
    filter_pattern = _required(top, "filterPattern", "")
    if not isinstance(filter_pattern, str):
        raise MetricFilterError("Invalid type for parameter filterPattern, valid types: str")
    filter_name = top.get("filterName", metric_name)
    _filter_name(filter_name)
    log_group = top.get("logGroupName")
    if log_group is not None and (not isinstance(log_group, str) or not log_group):
        raise MetricFilterError("Invalid type for parameter logGroupName, valid types: str")
    if top.get("applyOnTransformedLogs", False) is not False:
        raise MetricFilterError(
            "applyOnTransformedLogs is not supported: subscription data carries the events "
            "before any log transformer ran"
        )
    if top.get("fieldSelectionCriteria"):
        raise MetricFilterError("fieldSelectionCriteria is not supported by metric filters here")
    system = _system_dimensions(top.get("emitSystemFieldDimensions", []))
    dimensions = _dimensions(transformation.get("dimensions"), cloudformation)
    if len(dimensions) + len(system) > MAX_DIMENSIONS:
        raise MetricFilterError(
            f"Invalid metric transformation: at most {MAX_DIMENSIONS} dimensions are allowed, "
            f"counting emitSystemFieldDimensions (got {len(dimensions) + len(system)})"
        )
    return MetricFilterDefinition(
        filter_name=filter_name,
        filter_pattern=filter_pattern,
        log_group_name=log_group,
        metric_name=metric_name,
        metric_namespace=namespace,
        metric_value=_metric_value(_required(transformation, "metricValue", where)),
        default_value=_default_value(transformation.get("defaultValue"), cloudformation),
        unit=_unit(transformation.get("unit", "None"), where),
        dimensions=dimensions,
        system_dimensions=system,
        histogram_buckets=_buckets(top.get("prometheus")),
    )


def _from_cloudformation(properties: Mapping[str, Any]) -> dict[str, Any]:
    _refuse_unknown(properties, set(_CFN_KEYS), "")
    top = {_CFN_KEYS[key]: value for key, value in properties.items()}
    transformations = top.get("metricTransformations")
    if isinstance(transformations, list):
        converted = []
        for index, item in enumerate(transformations):
            item = _mapping(item, f"MetricTransformations[{index}]")
            _refuse_unknown(item, set(_CFN_TRANSFORMATION_KEYS), f"MetricTransformations[{index}].")
            converted.append({_CFN_TRANSFORMATION_KEYS[key]: value for key, value in item.items()})
        top["metricTransformations"] = converted
    return top


def _refuse_unknown(mapping: Mapping[str, Any], known: set[str], where: str) -> None:
    for key in mapping:
        if key not in known:
            raise MetricFilterError(
                f'Unknown parameter in input: "{where}{key}", must be one of: '
                + ", ".join(sorted(known))
            )


def _required(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in mapping:
        inside = f" in {where}" if where else ""
        raise MetricFilterError(f'Missing required parameter in input{inside}: "{key}"')
    return mapping[key]


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise MetricFilterError(f"Invalid type for parameter {where}, valid types: dict")
    return value


def _constraint(value: Any, where: str, constraint: str) -> MetricFilterError:
    return MetricFilterError(
        f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy "
        f"constraint: {constraint}"
    )


def _metric_name(value: Any, where: str, member: str = "Name") -> str:
    place = f"{where}.metric{member}"
    if not isinstance(value, str) or not value:
        raise _constraint(value, place, "Member must have length greater than or equal to 1")
    if len(value) > _MAX_NAME:
        raise _constraint(value, place, "Member must have length less than or equal to 255")
    if any(character in _FORBIDDEN_IN_METRIC_NAMES for character in value):
        raise _constraint(value, place, "Member must satisfy regular expression pattern: [^:*$]*")
    return value


def _filter_name(value: Any) -> None:
    if not isinstance(value, str) or not 1 <= len(value) <= 512:
        raise _constraint(value, "filterName", "Member must have length between 1 and 512")
    if ":" in value or "*" in value:
        raise _constraint(
            value, "filterName", "Member must satisfy regular expression pattern: [^:*]*"
        )


def _metric_value(value: Any) -> str:
    # YAML users write `metricValue: 1`; the API's type is a string of at most 100 characters.
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise MetricFilterError(f"Invalid metric transformation: metric value {value!r} is empty")
    if len(value) > 100:
        raise _constraint(value, "metricValue", "Member must have length less than or equal to 100")
    return value


def _default_value(value: Any, cloudformation: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, str) and cloudformation:  # CloudFormation coerces "0" to a Double
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetricFilterError(
            f"SerializationException: defaultValue must be a number, not {value!r}"
        )
    if not math.isfinite(value):
        raise MetricFilterError(f"SerializationException: defaultValue {value} is not finite")
    return float(value)


def _unit(value: Any, where: str) -> str:
    if value not in STANDARD_UNITS:
        raise _constraint(
            value,
            f"{where}.unit",
            "Member must satisfy enum value set: [" + ", ".join(sorted(STANDARD_UNITS)) + "]",
        )
    return str(value)


def _dimensions(value: Any, cloudformation: bool) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    pairs: list[tuple[Any, Any]]
    if cloudformation:
        if not isinstance(value, list):
            raise MetricFilterError("Dimensions must be a list of {Key, Value}")
        pairs = []
        for index, item in enumerate(value):
            if not isinstance(item, Mapping) or set(item) != {"Key", "Value"}:
                raise MetricFilterError(f"Dimensions[{index}] must have exactly Key and Value")
            pairs.append((item["Key"], item["Value"]))
    else:
        pairs = list(_mapping(value, "dimensions").items())
    checked = []
    for key, reference in pairs:
        where = f"dimensions.{key}"
        if not isinstance(key, str) or not key.strip() or len(key) > _MAX_NAME:
            raise _constraint(key, where, "Member must have length between 1 and 255")
        if not key.isascii() or key.startswith(":"):
            raise _constraint(key, where, "dimension keys are ASCII and do not start with ':'")
        if not isinstance(reference, str) or not reference or len(reference) > _MAX_NAME:
            raise _constraint(reference, where, "Member must have length between 1 and 255")
        checked.append((key, reference))
    return tuple(checked)


def _system_dimensions(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(item in SYSTEM_FIELDS for item in value):
        raise MetricFilterError(
            f"emitSystemFieldDimensions must list some of {', '.join(SYSTEM_FIELDS)}, not {value!r}"
        )
    return tuple(dict.fromkeys(value))


def _buckets(value: Any) -> tuple[float, ...] | None:
    """The project's extension: ``prometheus: {histogram_buckets: [...]}`` asks for a histogram."""
    if value is None:
        return None
    settings = _mapping(value, "prometheus")
    _refuse_unknown(settings, {"histogram_buckets"}, "prometheus.")
    buckets = settings.get("histogram_buckets")
    if buckets is None:
        return None
    if (
        not isinstance(buckets, list)
        or not buckets
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in buckets)
        # NaN compares false both ways, so it would slip through the order check below;
        # +Inf is the bucket Prometheus always adds itself
        or not all(math.isfinite(b) for b in buckets)
        or any(later <= earlier for earlier, later in itertools.pairwise(buckets))
    ):
        raise MetricFilterError(
            "prometheus.histogram_buckets must be a non-empty list of finite, increasing numbers"
        )
    return tuple(float(bucket) for bucket in buckets)
