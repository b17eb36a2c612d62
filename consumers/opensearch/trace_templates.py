"""Index templates for span and service-map indices, in the mappings Trace Analytics reads.

The fields and types are Data Prepper's (``otel-v1-apm-span`` and
``otel-v1-apm-service-map``, see the shared reference): ``date_nanos`` times,
``keyword`` ids, every ``span.attributes.*`` and ``resource.attributes.*``
a keyword, ``events`` nested. Installed at start-up like the log templates,
replaced when :data:`TRACE_TEMPLATE_VERSION` grows.
"""

from __future__ import annotations

from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import NotFoundError

from pipeline.routing import day_pattern
from pipeline.traces.settings import TracesConfig

__all__ = [
    "TRACE_TEMPLATE_VERSION",
    "install_trace_templates",
    "service_map_template",
    "span_template",
]

TRACE_TEMPLATE_VERSION = 1


def _keyword(limit: int = 1024) -> dict[str, Any]:
    return {"type": "keyword", "ignore_above": limit}


def _template(pattern: str, mappings: dict[str, Any]) -> dict[str, Any]:
    return {
        "index_patterns": [pattern],
        "priority": 200,
        "version": TRACE_TEMPLATE_VERSION,
        "_meta": {"managed_by": "cwl-pipeline"},
        "template": {"mappings": mappings},
    }


def span_template(prefix: str) -> dict[str, Any]:
    """Day indices ``<prefix>-YYYY.MM.DD`` of span documents."""
    return _template(
        day_pattern(prefix),
        {
            "date_detection": False,
            "dynamic_templates": [
                {
                    "resource_attributes_map": {
                        "path_match": "resource.attributes.*",
                        "mapping": {"type": "keyword"},
                    }
                },
                {
                    "span_attributes_map": {
                        "path_match": "span.attributes.*",
                        "mapping": {"type": "keyword"},
                    }
                },
            ],
            "properties": {
                "traceId": _keyword(256),
                "spanId": _keyword(256),
                "parentSpanId": _keyword(256),
                "traceState": _keyword(),
                "name": _keyword(),
                "kind": _keyword(128),
                "serviceName": {"type": "keyword"},
                "startTime": {"type": "date_nanos"},
                "endTime": {"type": "date_nanos"},
                "durationInNanos": {"type": "long"},
                "status": {
                    "properties": {
                        "code": {"type": "integer"},
                        "message": {"type": "keyword"},
                    }
                },
                "traceGroup": _keyword(),
                "traceGroupFields": {
                    "properties": {
                        "endTime": {"type": "date_nanos"},
                        "durationInNanos": {"type": "long"},
                        "statusCode": {"type": "integer"},
                    }
                },
                "events": {"type": "nested", "properties": {"time": {"type": "date_nanos"}}},
                "links": {"type": "nested"},
            },
        },
    )


def service_map_template(index: str, *, daily: bool) -> dict[str, Any]:
    """The service-map index (or its day indices when it has a retention)."""
    endpoint = {"properties": {"domain": _keyword(), "resource": _keyword()}}
    return _template(
        day_pattern(index) if daily else index,
        {
            "date_detection": False,
            "dynamic_templates": [
                {
                    "strings_as_keyword": {
                        "match_mapping_type": "string",
                        "mapping": _keyword(),
                    }
                }
            ],
            "properties": {
                "hashId": _keyword(),
                "serviceName": _keyword(),
                "kind": _keyword(),
                "destination": endpoint,
                "target": endpoint,
                "traceGroupName": _keyword(),
            },
        },
    )


async def install_trace_templates(client: AsyncOpenSearch, traces: TracesConfig) -> list[str]:
    """Install or upgrade both templates; returns the names written."""
    wanted = {
        f"cwlpipe-{traces.span_index_prefix}": span_template(traces.span_index_prefix),
        f"cwlpipe-{traces.service_map_index}": service_map_template(
            traces.service_map_index, daily=traces.service_map_daily
        ),
    }
    written = []
    for name, body in wanted.items():
        try:
            current = await client.indices.get_index_template(name=name)
            installed = current["index_templates"][0]["index_template"].get("version", 0)
        except NotFoundError:
            installed = -1
        if installed < TRACE_TEMPLATE_VERSION:
            await client.indices.put_index_template(name=name, body=body)
            written.append(name)
    return written
