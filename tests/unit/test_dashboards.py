"""configs/dashboards/*.ndjson: fresh, well-formed saved objects, over fields the documents carry."""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from consumers.devtools.dashboards import (
    DASHBOARDS_DIR,
    LOGS_PATTERN,
    SPANS_PATTERN,
    render,
    saved_objects,
)
from consumers.devtools.sample_data import sample_payloads
from consumers.opensearch.templates import index_template
from consumers.opensearch.trace_templates import span_template
from pipeline.config import config_from_mapping
from pipeline.process import Processor

REQUIRED = ("type", "id", "attributes", "references", "migrationVersion")
KNOWN_TYPES = {"index-pattern", "visualization", "dashboard"}
#: ``field:``, ``field >= 1`` in a KQL query (values in quotes are skipped first)
_KQL_FIELD = re.compile(r"([@A-Za-z_][\w.@]*)\s*(?::|>=|<=|<|>)")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_KQL_WORDS = {"and", "or", "not"}
_SCRIPT_FIELD = re.compile(r"doc\['([^']+)'\]")


def loaded() -> list[dict[str, Any]]:
    """Every object of every shipped file, each line parsed on its own."""
    objects = []
    for path in sorted(DASHBOARDS_DIR.glob("*.ndjson")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            item = orjson.loads(line)
            assert isinstance(item, dict), f"{path.name}:{number}: not a JSON object"
            objects.append(item)
    return objects


def mapped_fields(properties: dict[str, Any], prefix: str = "") -> set[str]:
    fields = set()
    for name, spec in properties.items():
        fields.add(prefix + name)
        fields |= mapped_fields(spec.get("properties", {}), f"{prefix}{name}.")
    return fields


def document_fields(document: dict[str, Any], prefix: str = "") -> Iterator[str]:
    for key, value in document.items():
        yield prefix + key
        if isinstance(value, dict):
            yield from document_fields(value, f"{prefix}{key}.")


def sample_documents() -> list[dict[str, Any]]:
    """The project's sample deliveries as the daemon indexes them."""
    processor = Processor(config_from_mapping({}))
    sources = []
    for payload in sample_payloads(int(time.time() * 1000)):
        if payload.good and not payload.name.endswith(".json"):
            outcome = processor.process(payload.data)
            sources.extend(action.source for action in outcome.actions)
    return sources


def scripted_fields(pattern: dict[str, Any]) -> dict[str, str]:
    fields = orjson.loads(pattern["attributes"]["fields"])
    return {field["name"]: field["script"] for field in fields if field.get("scripted")}


def kql_fields(query: str) -> set[str]:
    return {m for m in _KQL_FIELD.findall(_QUOTED.sub('""', query)) if m.lower() not in _KQL_WORDS}


def used_fields(vis: dict[str, Any]) -> set[str]:
    """Aggregation fields, and the fields of the saved query and of filters aggregations."""
    state = orjson.loads(vis["attributes"]["visState"])
    search = orjson.loads(vis["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    fields = kql_fields(search.get("query", {}).get("query", ""))
    for agg in state["aggs"]:
        params = agg.get("params", {})
        if "field" in params:
            fields.add(params["field"])
        for item in params.get("filters", []):
            fields |= kql_fields(item["input"]["query"])
    return fields


def allowed_fields(objects: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Index pattern id -> the fields its visualisations may use."""
    patterns = {o["id"]: o for o in objects if o["type"] == "index-pattern"}
    logs = mapped_fields(index_template("cwl")["template"]["mappings"]["properties"])
    dynamic = {f for doc in sample_documents() for f in document_fields(doc)}
    scripted = scripted_fields(patterns[LOGS_PATTERN])
    for name, script in scripted.items():
        missing = set(_SCRIPT_FIELD.findall(script)) - logs
        assert not missing, f"scripted field {name} reads unmapped {sorted(missing)}"
    spans = mapped_fields(span_template("otel-v1-apm-span")["template"]["mappings"]["properties"])
    return {LOGS_PATTERN: logs | dynamic | set(scripted), SPANS_PATTERN: spans}


def unknown_fields(objects: list[dict[str, Any]]) -> list[str]:
    allowed = allowed_fields(objects)
    problems = []
    for vis in (o for o in objects if o["type"] == "visualization"):
        (pattern,) = [r["id"] for r in vis["references"] if r["type"] == "index-pattern"]
        for field in sorted(used_fields(vis) - allowed[pattern]):
            problems.append(f"{vis['id']}: {field}")
    return problems


def test_the_files_are_fresh() -> None:
    # when this fails: python -m consumers.devtools.dashboards
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in DASHBOARDS_DIR.glob("*.ndjson")}
    assert on_disk == render()


def test_every_line_is_a_saved_object_and_references_resolve() -> None:
    objects = loaded()
    keys = [(o["type"], o["id"]) for o in objects]
    assert len(keys) == len(set(keys)), "duplicate type and id"
    for item in objects:
        assert all(key in item for key in REQUIRED), item.get("id")
        assert item["type"] in KNOWN_TYPES
        assert item["attributes"]["title"]
        assert set(item["migrationVersion"]) == {item["type"]}
        for ref in item["references"]:
            assert (ref["type"], ref["id"]) in keys, f"{item['id']}: dangling {ref}"
        if item["type"] == "dashboard":
            panels = orjson.loads(item["attributes"]["panelsJSON"])
            names = {ref["name"] for ref in item["references"]}
            assert {panel["panelRefName"] for panel in panels} == names
            for panel in panels:  # below 7.3 Kibana and older Dashboards migrate them as 6.x
                assert tuple(map(int, panel["version"].split("."))) >= (7, 3), panel
        if item["type"] == "visualization":
            search = orjson.loads(item["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            names = {ref["name"] for ref in item["references"]}
            assert search["indexRefName"] in names
            assert orjson.loads(item["attributes"]["visState"])["aggs"]


def test_index_patterns_and_time_fields() -> None:
    patterns = {o["attributes"]["title"]: o for o in loaded() if o["type"] == "index-pattern"}
    assert patterns["cwl-*"]["attributes"]["timeFieldName"] == "@timestamp"
    assert patterns["otel-v1-apm-span-*"]["attributes"]["timeFieldName"] == "startTime"


def test_dashboards_reads_the_mapped_fields_on_first_load() -> None:
    # Dashboards refreshes a pattern's field list from the mapping only when no stored field
    # has both field caps and readFromDocValues; else @timestamp would be missing until refreshed
    for pattern in (o for o in loaded() if o["type"] == "index-pattern"):
        for spec in orjson.loads(pattern["attributes"]["fields"]):
            assert "readFromDocValues" not in spec, (pattern["id"], spec["name"])


def test_every_visualised_field_is_mapped_or_written() -> None:
    assert unknown_fields(loaded()) == []


def test_the_access_log_fields_are_in_real_documents() -> None:
    # status, bytes and request are no template's: the sample access logs must write them
    fields = {f for doc in sample_documents() for f in document_fields(doc)}
    assert {"status", "bytes", "request", "lambda.function", "lambda.cold_start"} <= fields


@pytest.mark.parametrize(
    ("where", "field"),
    [("agg", "lambda.memory_mb"), ("query", "latency"), ("filters", "http_status")],
)
def test_a_field_nobody_writes_is_reported(where: str, field: str) -> None:
    objects = [item for items in saved_objects().values() for item in items]
    vis = copy.deepcopy(next(o for o in objects if o["id"] == "cwlpipe-api-status-classes"))
    state = orjson.loads(vis["attributes"]["visState"])
    meta = vis["attributes"]["kibanaSavedObjectMeta"]
    if where == "agg":
        state["aggs"][0] = {**state["aggs"][0], "type": "avg", "params": {"field": field}}
    elif where == "query":
        meta["searchSourceJSON"] = orjson.dumps({"query": {"query": f"{field} > 3"}}).decode()
    else:
        state["aggs"][2]["params"]["filters"][0]["input"]["query"] = f'{field}:"a:b" and status:*'
    vis["attributes"]["visState"] = orjson.dumps(state).decode()
    others = [o for o in objects if o["id"] != vis["id"]]
    assert unknown_fields([*others, vis]) == [f"{vis['id']}: {field}"]
