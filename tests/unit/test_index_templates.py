"""The log index template: what the documents' fields are mapped as."""

from __future__ import annotations

from consumers.opensearch.templates import TEMPLATE_VERSION, index_template


def test_trace_links_are_keywords_so_a_term_query_finds_them() -> None:
    properties = index_template("cwl")["template"]["mappings"]["properties"]
    assert properties["traceId"] == {"type": "keyword"}
    assert properties["spanId"] == {"type": "keyword"}


def test_the_version_says_templates_with_span_ids_replace_older_ones() -> None:
    # version 1 had no spanId: the sink replaces installed templates of a lower version
    template = index_template("cwl")
    assert TEMPLATE_VERSION >= 2
    assert template["version"] == TEMPLATE_VERSION
