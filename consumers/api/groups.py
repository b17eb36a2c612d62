"""DescribeLogGroups and DescribeLogStreams over the distinct groups and streams in the store.

A group exists while the store holds an event of it; its ``creationTime`` is
its first event's time, its retention the one of the route it is indexed by.
``storedBytes`` is 0: the store's sizes are per index, not per group.
"""

from __future__ import annotations

from typing import Any

from consumers.api.context import ApiContext
from consumers.api.errors import invalid_parameter, resource_not_found
from consumers.api.filters import metric_filters_for
from consumers.api.paging import page_after
from consumers.api.params import Params
from consumers.api.store import Summary
from consumers.api.tokens import fingerprint

__all__ = ["describe_log_groups", "describe_log_streams", "group_name", "require_group"]

DESCRIBE_LIMIT = 50
_NAME_MAX = 512


def group_name(params: Params, *, required: bool = True) -> str | None:
    """The group of ``logGroupName`` or ``logGroupIdentifier`` (a name or an ARN)."""
    name = params.string("logGroupName", min_len=1, max_len=_NAME_MAX)
    identifier = params.string("logGroupIdentifier", min_len=1, max_len=2048)
    if name is not None and identifier is not None:
        raise invalid_parameter("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
    if identifier is not None:
        name = identifier
        if identifier.startswith("arn:"):
            _, found, rest = identifier.partition(":log-group:")
            if not found or not rest:
                raise invalid_parameter(f"Invalid log group identifier: {identifier}")
            name = rest.removesuffix(":*")
    if name is None and required:
        raise invalid_parameter("Either logGroupName or logGroupIdentifier must be specified.")
    return name


async def require_group(context: ApiContext, group: str) -> None:
    """ResourceNotFoundException unless the store holds an event of ``group``."""
    if await context.store.count(group) == 0:
        raise resource_not_found("The specified log group does not exist.")


async def describe_log_groups(context: ApiContext, params: Params) -> dict[str, Any]:
    prefix = params.string("logGroupNamePrefix", min_len=1, max_len=_NAME_MAX)
    pattern = params.string("logGroupNamePattern", max_len=_NAME_MAX)
    identifiers = params.strings("logGroupIdentifiers", min_items=1, max_items=50, min_len=1)
    if prefix is not None and pattern is not None:
        raise invalid_parameter(
            "logGroupNamePrefix and logGroupNamePattern are mutually exclusive parameters."
        )
    if identifiers is not None and (prefix is not None or pattern is not None):
        raise invalid_parameter(
            "logGroupIdentifiers cannot be used with logGroupNamePrefix or logGroupNamePattern."
        )
    group_class = params.choice(
        "logGroupClass", ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY", "ESSENTIALS")
    )
    limit = params.integer("limit", low=1, high=DESCRIBE_LIMIT) or DESCRIBE_LIMIT
    token = params.string("nextToken", min_len=1)
    wanted = {_identifier_name(identifier) for identifier in identifiers or ()}
    groups = await context.store.groups(prefix)
    groups = [
        group
        for group in groups
        if (not pattern or pattern in group.name)
        and (not wanted or group.name in wanted)
        and group_class in (None, "STANDARD")  # every group here is a standard one
    ]
    page, next_token = page_after(
        groups,
        lambda group: (group.name,),
        descending=False,
        limit=limit,
        token=token,
        kind="groups",
        bound_to=fingerprint(prefix, pattern, sorted(wanted), group_class),
    )
    answer: dict[str, Any] = {"logGroups": [_group(context, group) for group in page]}
    if next_token:
        answer["nextToken"] = next_token
    return answer


def _identifier_name(identifier: str) -> str:
    if identifier.startswith("arn:"):
        return identifier.partition(":log-group:")[2].removesuffix(":*")
    return identifier


def _group(context: ApiContext, group: Summary) -> dict[str, Any]:
    arn = context.group_arn(group.name, group.owner)
    shape: dict[str, Any] = {
        "logGroupName": group.name,
        "creationTime": group.first_ms,
        "metricFilterCount": len(metric_filters_for(context.config, group.name)),
        "arn": f"{arn}:*",
        "storedBytes": 0,
        "logGroupClass": "STANDARD",
        "logGroupArn": arn,
    }
    retention = context.config.router().route(group.name).retention_days
    if retention is not None:
        shape["retentionInDays"] = retention
    return shape


async def describe_log_streams(context: ApiContext, params: Params) -> dict[str, Any]:
    group = group_name(params)
    assert group is not None
    prefix = params.string("logStreamNamePrefix", min_len=1, max_len=_NAME_MAX)
    order = params.choice("orderBy", ("LogStreamName", "LastEventTime")) or "LogStreamName"
    descending = params.boolean("descending", False)
    limit = params.integer("limit", low=1, high=DESCRIBE_LIMIT) or DESCRIBE_LIMIT
    token = params.string("nextToken", min_len=1)
    if prefix is not None and order == "LastEventTime":
        raise invalid_parameter("Cannot order by LastEventTime with a logStreamNamePrefix.")
    streams = await context.store.streams(group, prefix)
    if not streams:
        await require_group(context, group)  # no stream with the prefix, or no group at all

    def by_name(stream: Summary) -> tuple[Any, ...]:
        return (stream.name,)

    def by_time(stream: Summary) -> tuple[Any, ...]:
        return (stream.last_ms, stream.name)

    page, next_token = page_after(
        streams,
        by_name if order == "LogStreamName" else by_time,
        descending=descending,
        limit=limit,
        token=token,
        kind="streams",
        bound_to=fingerprint(group, prefix, order, descending),
    )
    answer: dict[str, Any] = {"logStreams": [_stream(context, group, s) for s in page]}
    if next_token:
        answer["nextToken"] = next_token
    return answer


def _stream(context: ApiContext, group: str, stream: Summary) -> dict[str, Any]:
    return {
        "logStreamName": stream.name,
        "creationTime": stream.first_ms,
        "firstEventTimestamp": stream.first_ms,
        "lastEventTimestamp": stream.last_ms,
        "lastIngestionTime": stream.last_ms,
        "arn": f"{context.group_arn(group, stream.owner)}:log-stream:{stream.name}",
        "storedBytes": 0,
    }
