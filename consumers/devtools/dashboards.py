"""OpenSearch Dashboards saved objects over the indexed logs and spans (configs/dashboards/).

One saved object per line, as Dashboards 2.x exports them for ``_import``:
``type``, ``id``, ``attributes`` (``visState``, ``searchSourceJSON``,
``panelsJSON`` as JSON strings), ``references`` (the index pattern of a
visualisation, the panels of a dashboard) and ``migrationVersion``.
Visualisations use only fields the documents carry: the log template's
``@timestamp`` and ``lambda.*``, the API Gateway access log's extracted
``status``, ``bytes`` and ``request`` (dynamic fields of the top level),
and three scripted fields of the ``cwl-*`` pattern computed from REPORT
numbers. Regenerate with ``python -m consumers.devtools.dashboards``.

Pipeline health (consumer lag, dead letters, store throttling) is not in
the indices: it is the daemon's Prometheus metrics, for Prometheus/Grafana.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from pipeline.invocations import LambdaPrices

__all__ = [
    "DASHBOARDS_DIR",
    "LOGS_PATTERN",
    "PANEL_VERSION",
    "SPANS_PATTERN",
    "render",
    "saved_objects",
    "write",
]

DASHBOARDS_DIR = Path(__file__).resolve().parents[2] / "configs" / "dashboards"
LOGS_PATTERN = "cwlpipe-logs"  # the ids of the two index patterns
SPANS_PATTERN = "cwlpipe-spans"
_INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
_PRICES = LambdaPrices()
#: the panels' shape version. Not a Dashboards version such as 2.11.0: Kibana (and Dashboards
#: before it learnt to tell its own versions apart) rewrites panels below 7.3 as 6.x panels
#: when it loads a dashboard (migrateAppState); 7.10.2, where Dashboards forked, is read as is
PANEL_VERSION = "7.10.2"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _painless_number(field: str) -> str:
    return f"doc['{field}'].value"


def _scripted(name: str, script: str, fields: Sequence[str]) -> dict[str, Any]:
    guard = " || ".join(f"doc['{field}'].size() == 0" for field in fields)
    return {
        "name": name,
        "type": "number",
        "count": 0,
        "scripted": True,
        "script": f"if ({guard}) {{ return null; }} return {script};",
        "lang": "painless",
        "searchable": True,
        "aggregatable": True,
        # no readFromDocValues: a pattern whose stored fields all lack it gets its field list
        # from the mapping when first loaded (isFieldRefreshRequired), keeping these scripted ones
    }


_MEMORY = "lambda.memory_size_mb"
_USED = "lambda.max_memory_used_mb"
_BILLED = "lambda.billed_duration_ms"
_GB_SECONDS = f"{_painless_number(_BILLED)} / 1000.0 * {_painless_number(_MEMORY)} / 1024.0"
#: computed per REPORT line from the numbers it carries (x86_64 prices: documents do not
#: name the architecture; the defaults of ``lambda.prices``, us-east-1, first tier)
SCRIPTED_FIELDS = (
    _scripted(
        "lambda_memory_utilisation_pct",
        f"{_painless_number(_USED)} * 100.0 / {_painless_number(_MEMORY)}",
        (_USED, _MEMORY),
    ),
    _scripted("lambda_gb_seconds", _GB_SECONDS, (_BILLED, _MEMORY)),
    _scripted(
        "lambda_estimated_cost_usd",
        f"{_PRICES.request_usd} + {_GB_SECONDS} * {_PRICES.x86_64_gb_second_usd}",
        (_BILLED, _MEMORY),
    ),
)


def _index_pattern(id: str, title: str, time_field: str, fields: Sequence[Any]) -> dict[str, Any]:
    return {
        "type": "index-pattern",
        "id": id,
        "attributes": {"title": title, "timeFieldName": time_field, "fields": _json(fields)},
        "references": [],
        "migrationVersion": {"index-pattern": "7.6.0"},
    }


def _agg(id: int, type: str, schema: str, **params: Any) -> dict[str, Any]:
    return {"id": str(id), "enabled": True, "type": type, "schema": schema, "params": params}


def _count(id: int = 1) -> dict[str, Any]:
    return _agg(id, "count", "metric")


def _over_time(id: int, field: str = "@timestamp") -> dict[str, Any]:
    return _agg(
        id, "date_histogram", "segment", field=field, interval="auto", min_doc_count=1,
        extended_bounds={},
    )  # fmt: skip


def _terms(id: int, field: str, schema: str, size: int = 10, order_by: str = "1") -> dict[str, Any]:
    return _agg(
        id, "terms", schema, field=field, size=size, order="desc", orderBy=order_by,
        otherBucket=False, otherBucketLabel="Other", missingBucket=False,
        missingBucketLabel="Missing",
    )  # fmt: skip


def _filters(id: int, schema: str, filters: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return _agg(
        id,
        "filters",
        schema,
        filters=[
            {"input": {"query": query, "language": "kuery"}, "label": label}
            for label, query in filters
        ],
    )


def _chart_params(chart: str, metrics: Sequence[dict[str, Any]], title: str) -> dict[str, Any]:
    """The vislib point-series params (line, histogram) with one series per metric agg."""
    mode = "stacked" if chart == "histogram" else "normal"
    return {
        "type": chart,
        "grid": {"categoryLines": False},
        "categoryAxes": [
            {
                "id": "CategoryAxis-1",
                "type": "category",
                "position": "bottom",
                "show": True,
                "style": {},
                "scale": {"type": "linear"},
                "labels": {"show": True, "filter": True, "truncate": 100},
                "title": {},
            }
        ],
        "valueAxes": [
            {
                "id": "ValueAxis-1",
                "name": "LeftAxis-1",
                "type": "value",
                "position": "left",
                "show": True,
                "style": {},
                "scale": {"type": "linear", "mode": "normal"},
                "labels": {"show": True, "rotate": 0, "filter": False, "truncate": 100},
                "title": {"text": title},
            }
        ],
        "seriesParams": [
            {
                "show": True,
                "type": chart,
                "mode": mode,
                "data": {"label": title, "id": metric["id"]},
                "valueAxis": "ValueAxis-1",
                "drawLinesBetweenPoints": True,
                "lineWidth": 2,
                "showCircles": True,
            }
            for metric in metrics
        ],
        "addTooltip": True,
        "addLegend": True,
        "legendPosition": "right",
        "times": [],
        "addTimeMarker": False,
        "labels": {"show": False},
        "thresholdLine": {
            "show": False,
            "value": 10,
            "width": 1,
            "style": "full",
            "color": "#E7664C",
        },
    }


def _visualization(
    id: str,
    title: str,
    vis_type: str,
    aggs: Sequence[dict[str, Any]],
    *,
    query: str = "",
    params: dict[str, Any] | None = None,
    axis_title: str = "",
    pattern: str = LOGS_PATTERN,
    description: str = "",
) -> dict[str, Any]:
    if params is None:
        if vis_type in ("line", "histogram"):
            metrics = [agg for agg in aggs if agg["schema"] == "metric"]
            params = _chart_params(vis_type, metrics, axis_title or title)
        elif vis_type == "metric":
            params = {"type": "metric", "addTooltip": True, "addLegend": False}
        elif vis_type == "table":
            params = {"perPage": 10, "showPartialRows": False, "showMetricsAtAllLevels": False}
        else:
            params = {}
    search = {
        "query": {"query": query, "language": "kuery"},
        "filter": [],
        "indexRefName": _INDEX_REF,
    }
    return {
        "type": "visualization",
        "id": id,
        "attributes": {
            "title": title,
            "visState": _json(
                {"title": title, "type": vis_type, "aggs": list(aggs), "params": params}
            ),
            "uiStateJSON": "{}",
            "description": description,
            "version": 1,
            "kibanaSavedObjectMeta": {"searchSourceJSON": _json(search)},
        },
        "references": [{"name": _INDEX_REF, "type": "index-pattern", "id": pattern}],
        "migrationVersion": {"visualization": "7.10.0"},
    }


def _dashboard(
    id: str, title: str, description: str, panels: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """Panels two to a row, 24 columns wide each, 15 rows high."""
    panel_specs = []
    references = []
    for number, panel in enumerate(panels):
        ref = f"panel_{number}"
        panel_specs.append(
            {
                "version": PANEL_VERSION,
                "gridData": {
                    "x": 24 * (number % 2),
                    "y": 15 * (number // 2),
                    "w": 24,
                    "h": 15,
                    "i": str(number + 1),
                },
                "panelIndex": str(number + 1),
                "embeddableConfig": {},
                "panelRefName": ref,
            }
        )
        references.append({"name": ref, "type": "visualization", "id": panel["id"]})
    search = {"query": {"query": "", "language": "kuery"}, "filter": []}
    return {
        "type": "dashboard",
        "id": id,
        "attributes": {
            "title": title,
            "hits": 0,
            "description": description,
            "panelsJSON": _json(panel_specs),
            "optionsJSON": _json({"hidePanelTitles": False, "useMargins": True}),
            "version": 1,
            "timeRestore": True,
            "timeFrom": "now-24h",
            "timeTo": "now",
            "refreshInterval": {"pause": True, "value": 0},
            "kibanaSavedObjectMeta": {"searchSourceJSON": _json(search)},
        },
        "references": references,
        "migrationVersion": {"dashboard": "7.9.3"},
    }


_REPORT = "lambda.type:report"
_TIMEOUTS = (
    ("Task timed out lines", "lambda.type:timeout"),
    ("REPORT status timeout", "lambda.type:report and lambda.status:timeout"),
)
#: Lambda's REPORT (and platform.report) names it; a runtime's own "out of memory" message
#: inside an application line gets no lambda.* fields, so it is not counted here
_OUT_OF_MEMORY = 'lambda.error_type:"Runtime.OutOfMemory"'


def _lambda_visualizations() -> list[dict[str, Any]]:
    return [
        _visualization(
            "cwlpipe-lambda-invocations",
            "Lambda: invocations by function",
            "histogram",
            [_count(), _over_time(2), _terms(3, "lambda.function", "group")],
            query=_REPORT,
            axis_title="invocations (REPORT lines)",
        ),
        _visualization(
            "cwlpipe-lambda-duration",
            "Lambda: duration percentiles (ms)",
            "line",
            [
                _agg(1, "percentiles", "metric", field="lambda.duration_ms", percents=[50, 90, 99]),
                _over_time(2),
            ],
            query=_REPORT,
            axis_title="duration ms",
        ),
        _visualization(
            "cwlpipe-lambda-cold-starts",
            "Lambda: cold starts and init duration",
            "line",
            [
                _count(),
                _agg(3, "avg", "metric", field="lambda.init_duration_ms"),
                _agg(4, "max", "metric", field="lambda.init_duration_ms"),
                _over_time(2),
            ],
            query=f"{_REPORT} and lambda.cold_start:true",
            axis_title="cold starts / init ms",
        ),
        _visualization(
            "cwlpipe-lambda-timeouts",
            "Lambda: timeouts",
            "histogram",
            [_count(), _over_time(2), _filters(3, "group", _TIMEOUTS)],
            axis_title="timeouts",
        ),
        _visualization(
            "cwlpipe-lambda-errors",
            "Lambda: errors by type",
            "histogram",
            [_count(), _over_time(2), _terms(3, "lambda.error_type", "group")],
            query="lambda.error_type:*",
            axis_title="errors",
        ),
        _visualization(
            "cwlpipe-lambda-out-of-memory",
            "Lambda: out-of-memory",
            "table",
            [_count(), _terms(2, "lambda.function", "bucket"), _terms(3, "lambda.type", "bucket")],
            query=_OUT_OF_MEMORY,
            description="REPORT lines whose error type is Runtime.OutOfMemory",
        ),
        _visualization(
            "cwlpipe-lambda-memory",
            "Lambda: memory utilisation (max used / memory size, %)",
            "line",
            [
                _agg(1, "max", "metric", field="lambda_memory_utilisation_pct"),
                _agg(3, "avg", "metric", field="lambda_memory_utilisation_pct"),
                _over_time(2),
                _terms(4, "lambda.function", "group", size=5),
            ],
            query=_REPORT,
            axis_title="% of memory size",
        ),
        _visualization(
            "cwlpipe-lambda-memory-by-function",
            "Lambda: memory by function (MB)",
            "table",
            [
                _agg(1, "max", "metric", field="lambda.max_memory_used_mb"),
                _agg(3, "max", "metric", field="lambda.memory_size_mb"),
                _agg(4, "avg", "metric", field="lambda.billed_duration_ms"),
                _terms(2, "lambda.function", "bucket", size=20),
            ],
            query=_REPORT,
        ),
        _visualization(
            "cwlpipe-lambda-cost",
            "Lambda: estimated cost (USD, x86_64 on-demand list price)",
            "line",
            [
                _agg(1, "sum", "metric", field="lambda_estimated_cost_usd"),
                _over_time(2),
                _terms(3, "lambda.function", "group", order_by="1"),
            ],
            query=_REPORT,
            axis_title="USD",
            description=(
                f"requests x {_PRICES.request_usd} + GB-seconds x {_PRICES.x86_64_gb_second_usd}"
                f" (lambda.prices defaults as of {_PRICES.as_of}); no free tier, no savings plans"
            ),
        ),
        _visualization(
            "cwlpipe-lambda-cost-total",
            "Lambda: estimated cost in the time range (USD)",
            "metric",
            [_agg(1, "sum", "metric", field="lambda_estimated_cost_usd")],
            query=_REPORT,
        ),
    ]


_STATUS_CLASSES = (
    ("2xx", "status >= 200 and status < 300"),
    ("3xx", "status >= 300 and status < 400"),
    ("4xx", "status >= 400 and status < 500"),
    ("5xx", "status >= 500"),
)


def _api_visualizations() -> list[dict[str, Any]]:
    return [
        _visualization(
            "cwlpipe-api-status-classes",
            "API: status classes over time",
            "histogram",
            [_count(), _over_time(2), _filters(3, "group", _STATUS_CLASSES)],
            query="status:*",
            axis_title="requests",
        ),
        _visualization(
            "cwlpipe-api-status-codes",
            "API: status codes over time",
            "line",
            [_count(), _over_time(2), _terms(3, "status", "group", size=10)],
            query="status:*",
            axis_title="requests",
        ),
        _visualization(
            "cwlpipe-api-top-requests",
            "API: top requests (method, path, protocol)",
            "table",
            [
                _count(),
                _agg(3, "sum", "metric", field="bytes"),
                _terms(2, "request", "bucket", size=20),
            ],
            query="request:*",
        ),
        _visualization(
            "cwlpipe-api-errors-by-request",
            "API: top requests answered 5xx",
            "table",
            [_count(), _terms(2, "request", "bucket", size=20)],
            query="status >= 500",
        ),
        _visualization(
            "cwlpipe-api-bytes",
            "API: response bytes over time",
            "line",
            [
                _agg(1, "sum", "metric", field="bytes"),
                _agg(3, "avg", "metric", field="bytes"),
                _over_time(2),
            ],
            query="bytes:*",
            axis_title="bytes",
        ),
    ]


def _health_visualizations() -> list[dict[str, Any]]:
    """What the indices themselves say about the pipeline: how much lands per log group and
    how fresh each group is, and the traces beside them. Lag, dead letters and throttling are
    the daemon's Prometheus metrics (configs/prometheus/alerts.yml), not indexed data."""
    return [
        _visualization(
            "cwlpipe-health-events-per-group",
            "Pipeline: events indexed over time, by log group",
            "line",
            [_count(), _over_time(2), _terms(3, "@log_group", "group", size=10)],
            axis_title="events",
        ),
        _visualization(
            "cwlpipe-health-freshness",
            "Pipeline: newest event and events per log group",
            "table",
            [
                _count(),
                _agg(3, "max", "metric", field="@timestamp"),
                _terms(2, "@log_group", "bucket", size=50),
            ],
        ),
        _visualization(
            "cwlpipe-health-spans-per-service",
            "Traces: spans over time, by service",
            "line",
            [_count(), _over_time(2, "startTime"), _terms(3, "serviceName", "group", size=10)],
            axis_title="spans",
            pattern=SPANS_PATTERN,
        ),
        _visualization(
            "cwlpipe-health-span-errors",
            "Traces: error spans by service",
            "table",
            [_count(), _terms(2, "serviceName", "bucket", size=20)],
            query="status.code:2",
            pattern=SPANS_PATTERN,
        ),
    ]


def saved_objects() -> dict[str, list[dict[str, Any]]]:
    """File name -> its saved objects; the index patterns come first, as an export lists them."""
    lambda_vis = _lambda_visualizations()
    api_vis = _api_visualizations()
    health_vis = _health_visualizations()
    return {
        "index-patterns.ndjson": [
            _index_pattern(LOGS_PATTERN, "cwl-*", "@timestamp", SCRIPTED_FIELDS),
            _index_pattern(SPANS_PATTERN, "otel-v1-apm-span-*", "startTime", ()),
        ],
        "lambda-performance.ndjson": [
            *lambda_vis,
            _dashboard(
                "cwlpipe-lambda-performance",
                "cwl-pipeline: Lambda performance",
                "From the REPORT, START/END, timeout and fault lines of /aws/lambda/* groups",
                lambda_vis,
            ),
        ],
        "api-access.ndjson": [
            *api_vis,
            _dashboard(
                "cwlpipe-api-access",
                "cwl-pipeline: API access",
                "API Gateway access logs with extracted fields (status, bytes, request)",
                api_vis,
            ),
        ],
        "pipeline-health.ndjson": [
            *health_vis,
            _dashboard(
                "cwlpipe-pipeline-health",
                "cwl-pipeline: pipeline health",
                "What lands per log group and how fresh it is, and the spans beside it; "
                "lag, dead letters and throttling are in Prometheus (/metrics)",
                health_vis,
            ),
        ],
    }


def render() -> dict[str, str]:
    """File name -> its NDJSON text."""
    return {
        name: "".join(
            orjson.dumps(item, option=orjson.OPT_SORT_KEYS).decode() + "\n" for item in items
        )
        for name, items in saved_objects().items()
    }


def write(directory: Path = DASHBOARDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in render().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        print(path)
