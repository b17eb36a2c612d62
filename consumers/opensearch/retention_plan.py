"""Retention as CloudWatch means it, for day indices: one ISM policy per distinct retention.

An index ``<prefix>-YYYY.MM.DD`` holds the events of that UTC day, so it may
go once its last possible event is older than the retention: when the day
ended more than N days ago. ISM can only see an index's creation time, so
its policy deletes at ``min_index_age`` N+1 days (never early); the sweeper,
for clusters without ISM, reads the day from the name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipeline.routing import Route

__all__ = [
    "PolicySpec",
    "day_of_index",
    "expired_indices",
    "policy_body",
    "policy_id",
    "policy_specs",
]

_DAY_SUFFIX = re.compile(r"-(\d{4})\.(\d{2})\.(\d{2})$")
ISM_PRIORITY = 100


@dataclass(frozen=True, slots=True)
class PolicySpec:
    policy_id: str
    retention_days: int
    index_patterns: tuple[str, ...]


def policy_id(retention_days: int) -> str:
    return f"cwlpipe-retain-{retention_days}d"


def policy_specs(routes: Iterable[Route]) -> list[PolicySpec]:
    """One policy per distinct retention, covering every prefix that has it."""
    patterns: dict[int, dict[str, None]] = {}
    for route in routes:
        if route.retention_days is not None:
            patterns.setdefault(route.retention_days, {})[route.index_pattern] = None
    return [
        PolicySpec(policy_id(days), days, tuple(found)) for days, found in sorted(patterns.items())
    ]


def policy_body(spec: PolicySpec) -> dict[str, Any]:
    return {
        "policy": {
            "description": (
                f"cwl-pipeline: CloudWatch-style retention of {spec.retention_days} days "
                "for day indices"
            ),
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [
                        {
                            "state_name": "delete",
                            "conditions": {"min_index_age": f"{spec.retention_days + 1}d"},
                        }
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [
                {"index_patterns": list(spec.index_patterns), "priority": ISM_PRIORITY}
            ],
        }
    }


def day_of_index(name: str, prefix: str) -> date | None:
    if not name.startswith(f"{prefix}-"):
        return None
    found = _DAY_SUFFIX.search(name)
    if found is None or found.start() != len(prefix):
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def expired_indices(names: Sequence[str], routes: Iterable[Route], today: date) -> list[str]:
    """Day indices whose whole day is older than their route's retention."""
    expired = []
    for route in routes:
        if route.retention_days is None:
            continue
        for name in names:
            day = day_of_index(name, route.index_prefix)
            if day is not None and (today - day).days > route.retention_days:
                expired.append(name)
    return sorted(set(expired))
