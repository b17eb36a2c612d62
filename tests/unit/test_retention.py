"""Retention: the ISM requests, checked on a recording connection (no server here has ISM),
and the plan that decides what the sweeper deletes.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from opensearchpy import AsyncOpenSearch

from consumers.config.service import parse_config
from consumers.opensearch.retention import RetentionManager
from consumers.opensearch.retention_plan import expired_indices, policy_body, policy_specs
from tests.unit.scripted_connection import ScriptedConnection

ROUTES = (
    parse_config(
        """
routes:
  - {name: a, log_groups: ["/aws/lambda/*"], index_prefix: lambda, retention_days: 14}
  - {name: b, log_groups: ["/web/*"], index_prefix: web, retention_days: 14}
  - {name: c, log_groups: ["/audit/*"], index_prefix: audit, retention_days: never}
default_route: {index_prefix: cwl, retention_days: 30}
"""
    )
    .router()
    .all_routes
)


@pytest.fixture
def recorded() -> type[ScriptedConnection]:
    ScriptedConnection.reset()
    return ScriptedConnection


def client() -> AsyncOpenSearch:
    return ScriptedConnection.client()


def calls() -> list[tuple[str, str, dict[str, Any], Any]]:
    """The recorded requests with their JSON bodies decoded."""
    return [
        (method, url, params, json.loads(body) if body else None)
        for method, url, params, body in ScriptedConnection.requests
    ]


def stored(spec_index: int, seq_no: int = 7, primary_term: int = 1) -> dict[str, Any]:
    policy = policy_body(policy_specs(ROUTES)[spec_index])["policy"]
    policy.update(policy_id="x", last_updated_time=1, schema_version=21, error_notification=None)
    return {"_id": "x", "_seq_no": seq_no, "_primary_term": primary_term, "policy": policy}


def test_one_policy_per_distinct_retention_covering_its_prefixes() -> None:
    specs = policy_specs(ROUTES)
    assert [(s.policy_id, s.index_patterns) for s in specs] == [
        ("cwlpipe-retain-14d", ("lambda-2*", "web-2*")),
        ("cwlpipe-retain-30d", ("cwl-2*",)),
    ]
    body = policy_body(specs[0])["policy"]
    transition = body["states"][0]["transitions"][0]
    assert transition == {"state_name": "delete", "conditions": {"min_index_age": "15d"}}
    assert body["states"][1]["actions"] == [{"delete": {}}]


async def test_absent_policies_are_created_then_attached(
    recorded: type[ScriptedConnection],
) -> None:
    not_found = (404, {"error": {"type": "status_exception"}, "status": 404})
    recorded.script = [
        not_found,
        (201, {"_id": "cwlpipe-retain-14d"}),
        (200, {"updated_indices": 2, "failures": False, "failed_indices": []}),
        (200, {"updated_indices": 0, "failures": False, "failed_indices": []}),
        not_found,
        (201, {"_id": "cwlpipe-retain-30d"}),
        (200, {"updated_indices": 0, "failures": False, "failed_indices": []}),
    ]
    plan = await RetentionManager(client()).apply(ROUTES)
    assert [(m, u, p) for m, u, p, _ in calls()] == [
        ("GET", "/_plugins/_ism/policies/cwlpipe-retain-14d", {}),
        ("PUT", "/_plugins/_ism/policies/cwlpipe-retain-14d", {}),
        ("POST", "/_plugins/_ism/add/lambda-2*", {}),
        ("POST", "/_plugins/_ism/add/web-2*", {}),
        ("GET", "/_plugins/_ism/policies/cwlpipe-retain-30d", {}),
        ("PUT", "/_plugins/_ism/policies/cwlpipe-retain-30d", {}),
        ("POST", "/_plugins/_ism/add/cwl-2*", {}),
    ]
    assert calls()[1][3] == policy_body(policy_specs(ROUTES)[0])
    assert calls()[2][3] == {"policy_id": "cwlpipe-retain-14d"}
    assert plan.ism and plan.created == ["cwlpipe-retain-14d", "cwlpipe-retain-30d"]
    assert plan.attached == {"lambda-2*": 2}
    assert plan.never == ["audit"]


async def test_changed_policy_is_updated_with_seq_no_and_primary_term(
    recorded: type[ScriptedConnection],
) -> None:
    outdated = stored(0, seq_no=41, primary_term=3)
    outdated["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"] = "8d"
    added = (200, {"updated_indices": 0, "failures": False, "failed_indices": []})
    recorded.script = [(200, outdated), (200, {}), added, added, (200, stored(1)), added]
    plan = await RetentionManager(client()).apply(ROUTES)
    method, url, params, body = calls()[1]
    assert (method, url) == ("PUT", "/_plugins/_ism/policies/cwlpipe-retain-14d")
    assert params == {"if_seq_no": 41, "if_primary_term": 3}
    assert body == policy_body(policy_specs(ROUTES)[0])
    assert plan.updated == ["cwlpipe-retain-14d"]
    assert plan.unchanged == ["cwlpipe-retain-30d"]  # no PUT for an identical policy
    assert [r[0] for r in calls()].count("PUT") == 1


async def test_conflict_reads_again_and_retries_once(recorded: type[ScriptedConnection]) -> None:
    outdated = stored(0, seq_no=1)
    outdated["policy"]["description"] = "old"
    conflict = (409, {"error": {"type": "version_conflict_engine_exception"}, "status": 409})
    added = (200, {"updated_indices": 0, "failures": False, "failed_indices": []})
    recorded.script = [
        (200, outdated),
        conflict,
        (200, stored(0, seq_no=2)),  # somebody else already wrote our version
        added,
        added,
        (200, stored(1)),
        added,
    ]
    plan = await RetentionManager(client()).apply(ROUTES)
    assert [r[0] for r in calls()[:3]] == ["GET", "PUT", "GET"]
    assert plan.unchanged == ["cwlpipe-retain-14d", "cwlpipe-retain-30d"]
    assert plan.updated == []


async def test_dry_run_only_reads(recorded: type[ScriptedConnection]) -> None:
    not_found = (404, {"error": {"type": "status_exception"}, "status": 404})
    recorded.script = [not_found, not_found]
    plan = await RetentionManager(client()).apply(ROUTES, dry_run=True)
    assert {r[0] for r in calls()} == {"GET"}
    assert plan.describe()[:2] == [
        "create ISM policy cwlpipe-retain-14d",
        "create ISM policy cwlpipe-retain-30d",
    ]


async def test_no_ism_plugin_falls_back_to_the_sweeper(recorded: type[ScriptedConnection]) -> None:
    today = datetime.now(UTC).date()
    old = f"lambda-{today - timedelta(days=15):%Y.%m.%d}"
    young = f"lambda-{today - timedelta(days=14):%Y.%m.%d}"
    no_handler = (
        400,
        {"error": "no handler found for uri [/_plugins/_ism/policies/x] and method [GET]"},
    )
    recorded.script = [
        no_handler,
        (200, []),  # _cat/indices/cwl-2*
        (200, [{"index": old}, {"index": young}]),  # lambda-2*
        (200, []),  # web-2*
        (200, {"acknowledged": True}),
    ]
    plan = await RetentionManager(client()).apply(ROUTES)
    assert not plan.ism
    assert plan.deleted == [old]
    assert [(r[0], r[1]) for r in calls() if r[0] == "DELETE"] == [("DELETE", f"/{old}")]
    assert plan.describe()[0].startswith("no ISM plugin")


@pytest.mark.parametrize(
    ("today", "expired"),
    [
        (date(2026, 11, 23), ["cwl-2026.10.23", "lambda-2026.11.08"]),
        (date(2026, 11, 22), []),
        (
            date(2026, 11, 24),
            ["cwl-2026.10.23", "cwl-2026.10.24", "lambda-2026.11.08", "lambda-2026.11.09"],
        ),
    ],
)
def test_a_day_index_expires_once_its_whole_day_is_past_retention(
    today: date, expired: list[str]
) -> None:
    names = [
        "cwl-2026.10.23",  # on the 23rd: 31 days old, past 30
        "cwl-2026.10.24",  # on the 23rd: 30 days; its last event may be younger than 30 days
        "lambda-2026.11.08",  # on the 23rd: 15 days, past 14
        "lambda-2026.11.09",
        "audit-2020.01.01",  # never
        "cwl-lambda-2020.01.01",  # not a day index of cwl
        "cwl-2026.13.40",
    ]
    assert expired_indices(names, ROUTES, today) == expired
