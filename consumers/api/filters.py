"""TestMetricFilter, DescribeMetricFilters and DescribeSubscriptionFilters: the config's own
definitions in AWS's shapes, and the project's pattern engine for the test.

TestMetricFilter is :func:`pipeline.test_metric_filter.test_metric_filter`,
the function ``cwlpipe test-pattern`` prints, so both answer the same. The
metric filters a group has are the global ones that apply to it plus those of
the route that indexes it; its subscription filter is that route's filter
pattern (events it does not match are dropped before indexing).
"""

from __future__ import annotations

from typing import Any

from consumers.api.context import ApiContext
from consumers.api.errors import invalid_parameter
from consumers.api.paging import page_after
from consumers.api.params import Params
from consumers.api.tokens import fingerprint
from consumers.config.service import ServiceConfig
from pipeline.errors import PatternError
from pipeline.metric_filters import MetricFilter
from pipeline.test_metric_filter import test_metric_filter as run_test_metric_filter

__all__ = [
    "describe_metric_filters",
    "describe_subscription_filters",
    "metric_filters_for",
    "test_metric_filter",
]

_LIMIT = 50


def metric_filters_for(config: ServiceConfig, group: str) -> list[MetricFilter]:
    route = config.router().route(group)
    candidates = (*config.core.metric_filters, *route.metric_filters)
    return [metric_filter for metric_filter in candidates if metric_filter.applies_to(group)]


def _all_metric_filters(config: ServiceConfig) -> list[MetricFilter]:
    found = list(config.core.metric_filters)
    for route in config.router().all_routes:
        found += route.metric_filters
    return found


async def test_metric_filter(context: ApiContext, params: Params) -> dict[str, Any]:
    pattern = params.required_string("filterPattern", max_len=1024)
    messages = params.strings("logEventMessages", min_items=1, max_items=50, min_len=1)
    if messages is None:
        raise invalid_parameter("Missing required parameter: logEventMessages")
    try:
        return run_test_metric_filter(pattern, messages)
    except PatternError as error:
        raise invalid_parameter(error.reason) from None


async def describe_metric_filters(context: ApiContext, params: Params) -> dict[str, Any]:
    group = params.string("logGroupName", min_len=1, max_len=512)
    prefix = params.string("filterNamePrefix", min_len=1, max_len=512)
    metric_name = params.string("metricName", max_len=255)
    namespace = params.string("metricNamespace", max_len=255)
    limit = params.integer("limit", low=1, high=_LIMIT) or _LIMIT
    token = params.string("nextToken", min_len=1)
    if (metric_name is None) != (namespace is None):
        raise invalid_parameter("metricName and metricNamespace must be specified together.")
    config = context.config
    filters = metric_filters_for(config, group) if group else _all_metric_filters(config)
    if group and prefix:  # AWS uses the prefix only together with a group
        filters = [f for f in filters if f.definition.filter_name.startswith(prefix)]
    if metric_name is not None:
        filters = [
            f
            for f in filters
            if f.definition.metric_name == metric_name
            and f.definition.metric_namespace == namespace
        ]
    numbered = list(enumerate(filters))
    page, next_token = page_after(
        numbered,
        lambda item: (item[0],),
        descending=False,
        limit=limit,
        token=token,
        kind="metric-filters",
        bound_to=fingerprint(group, prefix, metric_name, namespace),
    )
    answer: dict[str, Any] = {"metricFilters": [_metric_filter(f, group) for _, f in page]}
    if next_token:
        answer["nextToken"] = next_token
    return answer


def _metric_filter(metric_filter: MetricFilter, group: str | None) -> dict[str, Any]:
    d = metric_filter.definition
    transformation: dict[str, Any] = {
        "metricName": d.metric_name,
        "metricNamespace": d.metric_namespace,
        "metricValue": d.metric_value,
        "unit": d.unit,
    }
    if d.default_value is not None:
        transformation["defaultValue"] = d.default_value
    if d.dimensions:
        transformation["dimensions"] = dict(d.dimensions)
    shape: dict[str, Any] = {
        "filterName": d.filter_name,
        "filterPattern": d.filter_pattern,
        "metricTransformations": [transformation],
        "creationTime": 0,
        "applyOnTransformedLogs": False,
    }
    if d.log_group_name or group:
        shape["logGroupName"] = d.log_group_name or group
    if d.system_dimensions:
        shape["emitSystemFieldDimensions"] = list(d.system_dimensions)
    return shape


async def describe_subscription_filters(context: ApiContext, params: Params) -> dict[str, Any]:
    from consumers.api.groups import require_group  # groups imports this module

    group = params.required_string("logGroupName", min_len=1, max_len=512)
    prefix = params.string("filterNamePrefix", min_len=1, max_len=512)
    limit = params.integer("limit", low=1, high=_LIMIT) or _LIMIT
    token = params.string("nextToken", min_len=1)
    await require_group(context, group)
    route = context.config.router().route(group)
    filters = []
    if not prefix or route.name.startswith(prefix):
        filters.append(
            {
                "filterName": route.name,
                "logGroupName": group,
                "filterPattern": route.filter_pattern.text,
                "destinationArn": f"cwlpipe:opensearch:index/{route.index_pattern}",
                "distribution": "ByLogStream",
                "applyOnTransformedLogs": False,
                "creationTime": 0,
            }
        )
    page, next_token = page_after(
        filters,
        lambda item: (item["filterName"],),
        descending=False,
        limit=limit,
        token=token,
        kind="subscription-filters",
        bound_to=fingerprint(group, prefix),
    )
    answer: dict[str, Any] = {"subscriptionFilters": page}
    if next_token:
        answer["nextToken"] = next_token
    return answer
