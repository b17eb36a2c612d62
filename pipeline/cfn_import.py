"""CloudFormation and SAM templates -> a pipeline config: routes, metric filters, retention.

Pure: :func:`import_templates` gets each template's name and text and returns
the config mapping plus the :class:`Problem` s (what it could not resolve, by
resource and property, and skipped). Nothing is guessed: a value that depends
on the deployment (``AWS::Region``, ``!ImportValue``, a generated name, an
unevaluated condition) is a problem, not a placeholder.

* ``AWS::Logs::SubscriptionFilter`` (and a SAM function's ``CloudWatchLogs``
  event) -> a route: its log group and filter pattern, the log group's
  ``RetentionInDays`` (``never``, CloudWatch's default, when the template sets
  none), its own index prefix ``cwl-<log group>``, so routes never disagree on
  the retention of a prefix;
* ``AWS::Logs::MetricFilter`` -> ``metric_filters``, CloudFormation-shaped;
* ``AWS::Logs::LogGroup`` -> the names ``!Ref``/``!GetAtt X.Arn`` resolve to
  and the retention;
* ``AWS::Serverless::Function`` -> ``!Ref`` resolves to its ``FunctionName``,
  so ``!Sub /aws/lambda/${Fn}`` names its implicit log group.

Intrinsics resolved: ``Ref`` (parameters by their ``Default``, the resources
above), ``Fn::Sub`` (both forms), ``Fn::GetAtt X.Arn`` of a log group (where a
log group name is expected), ``Fn::Join``. YAML short tags and JSON both.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from pipeline.errors import MetricFilterError, PatternError
from pipeline.metric_filters import compile_metric_filter
from pipeline.patterns import compile_pattern
from pipeline.routing import RETENTION_DAYS

__all__ = ["ImportResult", "Problem", "TemplateError", "import_templates", "load_template"]

LOG_GROUP = "AWS::Logs::LogGroup"
METRIC_FILTER = "AWS::Logs::MetricFilter"
SUBSCRIPTION_FILTER = "AWS::Logs::SubscriptionFilter"
SAM_FUNCTION = "AWS::Serverless::Function"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
_INDEX_PREFIX_MAX = 200
_LOG_GROUP_ARN = re.compile(r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:([^:]+)(:\*)?$")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(Exception):
    """A template that is not readable as one (bad YAML/JSON, no ``Resources`` mapping)."""


@dataclass(frozen=True, slots=True)
class Problem:
    template: str
    resource: str
    property: str
    reason: str

    def line(self) -> str:
        return f"{self.template}: {self.resource}.{self.property}: {self.reason}; skipped"


@dataclass(frozen=True, slots=True)
class ImportResult:
    config: dict[str, Any]
    problems: tuple[Problem, ...] = ()


class _Unresolved(Exception):
    def __init__(self, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.where = where


@dataclass(frozen=True, slots=True)
class _LogGroupArn:
    """``!GetAtt LogGroup.Arn``: usable where a log group name is expected, nowhere else."""

    name: str


# --- reading -------------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's short tags, each as its long form."""


def _short_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _short_tag)


def load_template(name: str, text: str) -> Mapping[str, Any]:
    """The template as a mapping, short tags in their long form; :class:`TemplateError` if not."""
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_CfnLoader)  # a SafeLoader subclass
    except json.JSONDecodeError as error:
        raise TemplateError(
            f"{name}: not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"
        ) from error
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error).replace("\n", " ")
        raise TemplateError(f"{name}: not valid YAML: {problem}{where}") from error
    if not isinstance(data, Mapping):
        raise TemplateError(f"{name}: not a template: the top level is not a mapping")
    resources = data.get("Resources")
    if not isinstance(resources, Mapping) or not all(
        isinstance(r, Mapping) and isinstance(r.get("Type"), str) for r in resources.values()
    ):
        raise TemplateError(f"{name}: not a template: no Resources mapping of typed resources")
    parameters = data.get("Parameters", {})
    if not isinstance(parameters, Mapping):
        raise TemplateError(f"{name}: not a template: Parameters is not a mapping")
    return data


# --- resolving -----------------------------------------------------------------------------


@dataclass
class _Template:
    name: str
    parameters: Mapping[str, Any]
    resources: Mapping[str, Mapping[str, Any]]
    problems: list[Problem] = field(default_factory=list)

    def resource_type(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return None if resource is None else str(resource["Type"])

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        properties = self.resources[logical_id].get("Properties", {})
        return properties if isinstance(properties, Mapping) else {}

    def resolve(self, value: Any, where: str = "") -> Any:
        """``value``, intrinsics resolved; :class:`_Unresolved` names the first that is not."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                (key, argument), *_ = value.items()
                if key == "Ref":
                    return self._ref(argument, where)
                if key == "Fn::Sub":
                    return self._sub(argument, where)
                if key == "Fn::GetAtt":
                    return self._get_att(argument, where)
                if key == "Fn::Join":
                    return self._join(argument, where)
                if key.startswith("Fn::") or key == "Condition":
                    raise _Unresolved(f"{key} is not resolved by the import", where)
            return {k: self.resolve(v, _join_path(where, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
        return value

    def _ref(self, name: Any, where: str) -> Any:
        if not isinstance(name, str):
            raise _Unresolved(f"Ref of {name!r} is not a name", where)
        if name in self.parameters:
            parameter = self.parameters[name]
            if not isinstance(parameter, Mapping) or "Default" not in parameter:
                raise _Unresolved(f"Ref to parameter {name} that has no Default", where)
            default = parameter["Default"]
            kind = str(parameter.get("Type", "String"))
            if isinstance(default, str) and (
                kind == "CommaDelimitedList" or kind.startswith("List<")
            ):
                return [item.strip() for item in default.split(",")]
            return default if isinstance(default, str | list) else str(default)
        if name.startswith("AWS::"):
            raise _Unresolved(f"Ref to pseudo parameter {name}, known only when deployed", where)
        found = self.resource_type(name)
        if found is None:
            raise _Unresolved(f"Ref to {name}, which is neither a parameter nor a resource", where)
        if found == LOG_GROUP:
            return self._named(name, "LogGroupName", where)
        if found in (SAM_FUNCTION, LAMBDA_FUNCTION):
            return self._named(name, "FunctionName", where)
        raise _Unresolved(f"Ref to {name}, a {found}, is not resolved", where)

    def _named(self, logical_id: str, prop: str, where: str) -> Any:
        properties = self.properties(logical_id)
        if prop not in properties:
            raise _Unresolved(
                f"Ref to {logical_id}, which has no {prop} (CloudFormation generates one)", where
            )
        try:
            name = self.resolve(properties[prop])
        except _Unresolved as error:
            raise _Unresolved(f"Ref to {logical_id}: {prop}: {error.reason}", where) from error
        if not isinstance(name, str):
            raise _Unresolved(f"Ref to {logical_id}: {prop} is not a string", where)
        return name

    def _get_att(self, argument: Any, where: str) -> Any:
        if (
            not isinstance(argument, list)
            or len(argument) != 2
            or not all(isinstance(a, str) for a in argument)
        ):
            raise _Unresolved(f"Fn::GetAtt {argument!r} is not [resource, attribute]", where)
        logical_id, attribute = argument
        kind = self.resource_type(logical_id)
        if kind == LOG_GROUP and attribute == "Arn":
            return _LogGroupArn(self._named(logical_id, "LogGroupName", where))
        raise _Unresolved(
            f"Fn::GetAtt {logical_id}.{attribute} is not resolved "
            "(only the Arn of a log group of the template is)",
            where,
        )

    def _sub(self, argument: Any, where: str) -> str:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], Mapping):
                raise _Unresolved("Fn::Sub takes a string or [string, {variables}]", where)
            argument, variables = argument
        if not isinstance(argument, str):
            raise _Unresolved("Fn::Sub takes a string or [string, {variables}]", where)

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):  # ${!Literal} is the literal ${Literal}
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name], where)
            elif "." in name:
                value = self._get_att(name.split(".", 1), where)
            else:
                value = self._ref(name, where)
            return _text(value, f"Fn::Sub ${{{name}}}", where)

        return _SUB_VARIABLE.sub(substitute, argument)

    def _join(self, argument: Any, where: str) -> str:
        if not isinstance(argument, list) or len(argument) != 2 or not isinstance(argument[0], str):
            raise _Unresolved("Fn::Join takes [delimiter, [values]]", where)
        items = self.resolve(argument[1], where)
        if not isinstance(items, list):
            raise _Unresolved("Fn::Join's values are not a list", where)
        return str(argument[0]).join(_text(item, "Fn::Join value", where) for item in items)


def _text(value: Any, what: str, where: str) -> str:
    if isinstance(value, _LogGroupArn):
        raise _Unresolved(
            f"{what}: a log group's Arn holds the deployment's region and account",
            where,
        )
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _Unresolved(f"{what} is not a string", where)
    return str(value)


def _join_path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _log_group_name(value: Any, where: str) -> str:
    if isinstance(value, _LogGroupArn):
        return value.name
    if not isinstance(value, str) or not value:
        raise _Unresolved("is not a log group name", where)
    arn = _LOG_GROUP_ARN.match(value)
    return arn.group(1) if arn else value


# --- building the config -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Subscription:
    template: str
    resource: str
    name: str
    log_group: str
    pattern: str


def import_templates(templates: Sequence[tuple[str, str]]) -> ImportResult:
    """``(name, text)`` of each template -> the config mapping and what was skipped.

    :class:`TemplateError` for a template that cannot be read at all.
    """
    loaded = []
    for name, text in templates:
        data = load_template(name, text)
        loaded.append(_Template(name, data.get("Parameters") or {}, data["Resources"]))
    retention: dict[str, int | None] = {}
    subscriptions: list[_Subscription] = []
    metric_filters: list[dict[str, Any]] = []
    for template in loaded:
        for logical_id, resource in template.resources.items():
            kind = resource["Type"]
            if kind not in (LOG_GROUP, METRIC_FILTER, SUBSCRIPTION_FILTER, SAM_FUNCTION):
                continue
            try:
                if "Condition" in resource:
                    raise _Unresolved(
                        f"condition {resource['Condition']} is not evaluated", "Condition"
                    )
                if kind == LOG_GROUP:
                    _log_group(template, logical_id, retention)
                elif kind == METRIC_FILTER:
                    metric_filters.append(_metric_filter(template, logical_id))
                elif kind == SUBSCRIPTION_FILTER:
                    subscriptions.append(_subscription(template, logical_id))
                else:
                    subscriptions.extend(_sam_events(template, logical_id))
            except _Unresolved as error:
                template.problems.append(
                    Problem(template.name, logical_id, error.where or "Properties", error.reason)
                )
    problems = [problem for template in loaded for problem in template.problems]
    routes = _routes(subscriptions, retention, problems)
    config: dict[str, Any] = {}
    if routes:
        config["routes"] = routes
    if metric_filters:
        config["metric_filters"] = metric_filters
    return ImportResult(config, tuple(problems))


def _property(template: _Template, logical_id: str, name: str, *, required: bool = True) -> Any:
    properties = template.properties(logical_id)
    if name not in properties:
        if required:
            raise _Unresolved("is required and missing", name)
        return None
    return template.resolve(properties[name], name)


def _log_group(template: _Template, logical_id: str, retention: dict[str, int | None]) -> None:
    if "LogGroupName" not in template.properties(logical_id):
        return  # a generated name: nothing can refer to it but by Ref, which reports it
    name = _log_group_name(_property(template, logical_id, "LogGroupName"), "LogGroupName")
    days = _property(template, logical_id, "RetentionInDays", required=False)
    if days is not None:
        if isinstance(days, str) and days.isdigit():  # a Number parameter's Ref is a string
            days = int(days)
        if isinstance(days, bool) or days not in RETENTION_DAYS:
            raise _Unresolved(
                f"{days!r} is not one of CloudWatch's retention values", "RetentionInDays"
            )
    retention[name] = None if days is None else int(days)


def _metric_filter(template: _Template, logical_id: str) -> dict[str, Any]:
    properties = template.resolve(template.properties(logical_id))
    if "LogGroupName" in properties:
        properties["LogGroupName"] = _log_group_name(properties["LogGroupName"], "LogGroupName")
    try:
        compile_metric_filter(properties)
    except MetricFilterError as error:
        where = error.field[:1].upper() + error.field[1:] if error.field else "Properties"
        raise _Unresolved(str(error), where) from error
    return dict(properties)


def _subscription(template: _Template, logical_id: str) -> _Subscription:
    if _property(template, logical_id, "ApplyOnTransformedLogs", required=False):
        raise _Unresolved(
            "subscription data carries the events before any log transformer ran",
            "ApplyOnTransformedLogs",
        )
    log_group = _log_group_name(_property(template, logical_id, "LogGroupName"), "LogGroupName")
    pattern = _pattern(_property(template, logical_id, "FilterPattern"))
    name = _property(template, logical_id, "FilterName", required=False)
    return _Subscription(
        template.name, logical_id, name if isinstance(name, str) else logical_id, log_group, pattern
    )


def _pattern(value: Any, where: str = "FilterPattern") -> str:
    if not isinstance(value, str):
        raise _Unresolved("is not a string", where)
    try:
        compile_pattern(value)
    except PatternError as error:
        raise _Unresolved(f"{error.reason} (at position {error.position})", where) from error
    return value


def _sam_events(template: _Template, logical_id: str) -> list[_Subscription]:
    """A SAM function's ``CloudWatchLogs`` events are subscription filters of their log groups."""
    events = template.properties(logical_id).get("Events") or {}
    found = []
    for event_id, event in events.items() if isinstance(events, Mapping) else ():
        if not isinstance(event, Mapping) or event.get("Type") != "CloudWatchLogs":
            continue
        where = f"Events.{event_id}.Properties"
        properties = event.get("Properties") or {}
        try:
            log_group = _log_group_name(
                template.resolve(properties.get("LogGroupName"), f"{where}.LogGroupName"),
                f"{where}.LogGroupName",
            )
            pattern = _pattern(
                template.resolve(properties.get("FilterPattern"), f"{where}.FilterPattern"),
                f"{where}.FilterPattern",
            )
        except _Unresolved as error:
            template.problems.append(Problem(template.name, logical_id, error.where, error.reason))
            continue
        found.append(
            _Subscription(template.name, logical_id, f"{logical_id}-{event_id}", log_group, pattern)
        )
    return found


def _routes(
    subscriptions: list[_Subscription], retention: Mapping[str, int | None], problems: list[Problem]
) -> list[dict[str, Any]]:
    """One route per log group (the first subscription filter's pattern), its own index prefix."""
    routes: list[dict[str, Any]] = []
    routed: dict[str, _Subscription] = {}
    prefixes: set[str] = {"cwl"}  # the default route's
    for subscription in subscriptions:
        earlier = routed.get(subscription.log_group)
        if earlier is not None:
            problems.append(
                Problem(
                    subscription.template,
                    subscription.resource,
                    "LogGroupName",
                    f"{subscription.log_group} is already routed by {earlier.resource} "
                    "(a route has one filter pattern)",
                )
            )
            continue
        routed[subscription.log_group] = subscription
        prefix = _index_prefix(subscription.log_group, prefixes)
        prefixes.add(prefix)
        days = retention.get(subscription.log_group)
        routes.append(
            {
                "name": subscription.name,
                "log_groups": [subscription.log_group],
                "filter_pattern": subscription.pattern,
                "index_prefix": prefix,
                "retention_days": "never" if days is None else days,
            }
        )
    return routes


def _index_prefix(log_group: str, taken: set[str]) -> str:
    """``/aws/lambda/Orders`` -> ``cwl-aws-lambda-orders``; ``-v2``... appended if taken.

    A route's indices are ``<prefix>-2*`` (day indices), so no prefix may hold ``-2``: another
    route's pattern would claim its indices (``cwl-app-2*`` and ``cwl-app-2fa``); ``_2`` instead.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", log_group.lower()).strip("-._")
    base = f"cwl-{slug}".replace("-2", "_2")[:_INDEX_PREFIX_MAX].rstrip("-._")
    prefix, number = base, 1
    while prefix in taken:
        number += 1
        prefix = f"{base[: _INDEX_PREFIX_MAX - 8]}-v{number}"
    return prefix
