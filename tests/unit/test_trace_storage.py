"""Where spans and the service map are kept: templates Trace Analytics reads, and retention
through the same machinery as log indices (spans 7 days, the service map forever)."""

from __future__ import annotations

from datetime import date

from consumers.config.service import service_config
from consumers.opensearch.retention_plan import expired_indices, policy_specs
from consumers.opensearch.trace_templates import service_map_template, span_template


def test_span_template_maps_what_dashboards_queries() -> None:
    template = span_template("otel-v1-apm-span")
    assert template["index_patterns"] == ["otel-v1-apm-span-2*"]
    properties = template["template"]["mappings"]["properties"]
    assert properties["startTime"] == {"type": "date_nanos"}
    assert properties["durationInNanos"] == {"type": "long"}
    assert properties["status"]["properties"]["code"] == {"type": "integer"}
    assert properties["traceGroupFields"]["properties"]["endTime"] == {"type": "date_nanos"}
    assert properties["events"]["type"] == "nested"
    dynamic = template["template"]["mappings"]["dynamic_templates"]
    assert {next(iter(d.values()))["path_match"] for d in dynamic} == {
        "span.attributes.*",
        "resource.attributes.*",
    }


def test_service_map_template_is_one_index_unless_it_has_a_retention() -> None:
    assert service_map_template("otel-v1-apm-service-map", daily=False)["index_patterns"] == [
        "otel-v1-apm-service-map"
    ]
    assert service_map_template("otel-v1-apm-service-map", daily=True)["index_patterns"] == [
        "otel-v1-apm-service-map-2*"
    ]


def test_spans_are_kept_seven_days_by_default_and_the_service_map_forever() -> None:
    config = service_config({})
    routes = config.index_routes()
    specs = {spec.retention_days: spec.index_patterns for spec in policy_specs(routes)}
    assert "otel-v1-apm-span-2*" in specs[7]
    assert not any("service-map" in p for patterns in specs.values() for p in patterns)
    names = [
        "otel-v1-apm-span-2026.11.10",
        "otel-v1-apm-span-2026.11.20",
        "otel-v1-apm-service-map",
        "cwl-2026.11.10",
    ]
    assert expired_indices(names, routes, date(2026, 11, 25)) == ["otel-v1-apm-span-2026.11.10"]


def test_a_service_map_retention_makes_day_indices_that_expire() -> None:
    config = service_config({"traces": {"service_map_retention_days": 14}})
    names = ["otel-v1-apm-service-map-2026.11.01", "otel-v1-apm-service-map-2026.11.20"]
    assert expired_indices(names, config.index_routes(), date(2026, 11, 25)) == [
        "otel-v1-apm-service-map-2026.11.01"
    ]


def test_traces_off_leave_only_the_log_routes() -> None:
    config = service_config({"traces": {"enabled": False}})
    assert config.index_routes() == config.router().all_routes
    assert config.input_topics == config.kafka.input_topics
