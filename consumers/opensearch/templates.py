"""Composable index templates for the day indices of each route.

Keyword fields for the group, stream and ids (``traceId`` and ``spanId`` as the
span index maps them, so one term query finds a span's logs), a date for
``@timestamp``, numbers for ``lambda.*``; strings that applications add are mapped as
keywords (no analysis, long ones not indexed) and the number of fields is
capped, because merged application JSON is what blows mappings up.
"""

from __future__ import annotations

from typing import Any

from pipeline.routing import day_pattern

__all__ = ["TEMPLATE_VERSION", "index_template", "template_name"]

TEMPLATE_VERSION = 2  # raise it when the body changes: installed templates are replaced then

_LAMBDA_NUMBERS = (
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "restore_duration_ms",
    "billed_restore_duration_ms",
    "timeout_seconds",
)
_LAMBDA_INTEGERS = ("memory_size_mb", "max_memory_used_mb")
_LAMBDA_KEYWORDS = (
    "type",
    "request_id",
    "status",
    "error_type",
    "function",
    "function_version",
    "version",
)


def template_name(index_prefix: str) -> str:
    return f"cwlpipe-{index_prefix}"


def index_template(index_prefix: str, total_fields_limit: int = 2000) -> dict[str, Any]:
    lambda_properties: dict[str, Any] = {name: {"type": "double"} for name in _LAMBDA_NUMBERS}
    lambda_properties.update({name: {"type": "integer"} for name in _LAMBDA_INTEGERS})
    lambda_properties.update({name: {"type": "keyword"} for name in _LAMBDA_KEYWORDS})
    lambda_properties["cold_start"] = {"type": "boolean"}
    return {
        "index_patterns": [day_pattern(index_prefix)],
        "priority": 200,
        "version": TEMPLATE_VERSION,
        "_meta": {"managed_by": "cwl-pipeline"},
        "template": {
            "settings": {
                "index.mapping.total_fields.limit": total_fields_limit,
                "index.mapping.ignore_malformed": True,
            },
            "mappings": {
                "dynamic_templates": [
                    {
                        "strings_as_keywords": {
                            "match_mapping_type": "string",
                            "mapping": {"type": "keyword", "ignore_above": 1024},
                        }
                    }
                ],
                "properties": {
                    "@id": {"type": "keyword"},
                    "@timestamp": {"type": "date"},
                    "@message": {"type": "text"},
                    "@owner": {"type": "keyword"},
                    "@log_group": {"type": "keyword"},
                    "@log_stream": {"type": "keyword"},
                    "traceId": {"type": "keyword"},
                    "spanId": {"type": "keyword"},
                    "lambda": {"properties": lambda_properties},
                },
            },
        },
    }
