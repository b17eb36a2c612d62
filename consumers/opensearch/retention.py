"""Retention in the store: ISM policies where the plugin exists, a sweeper where it does not.

With ISM: per distinct retention, GET the policy; absent -> PUT; present and
different -> PUT with ``if_seq_no``/``if_primary_term`` (a 409 means someone
else changed it: read again, once); then ``_plugins/_ism/add`` attaches it to
the day indices that already exist (new ones get it from ``ism_template``).
Without ISM (the cluster answers "no handler found"): a sweeper deletes day
indices whose day is past retention.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from opensearchpy import AsyncOpenSearch
from opensearchpy.exceptions import ConflictError, NotFoundError, RequestError, TransportError

from consumers.opensearch.retention_plan import (
    PolicySpec,
    expired_indices,
    policy_body,
    policy_specs,
)
from pipeline.routing import Route

__all__ = ["RetentionManager", "RetentionPlan"]

log = logging.getLogger(__name__)
_POLICIES = "/_plugins/_ism/policies/"
_READ_ONLY_FIELDS = ("policy_id", "last_updated_time", "schema_version", "error_notification")


@dataclass(slots=True)
class RetentionPlan:
    ism: bool = True
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    attached: dict[str, int] = field(default_factory=dict)  # pattern -> indices newly managed
    deleted: list[str] = field(default_factory=list)  # by the sweeper
    never: list[str] = field(default_factory=list)  # prefixes kept forever, said explicitly

    def describe(self) -> list[str]:
        lines = []
        if not self.ism:
            lines.append("no ISM plugin in the cluster: the sweeper deletes expired day indices")
        lines += [f"create ISM policy {name}" for name in self.created]
        lines += [f"update ISM policy {name}" for name in self.updated]
        lines += [f"ISM policy {name} is up to date" for name in self.unchanged]
        lines += [f"attach to {n} existing indices of {p}" for p, n in self.attached.items()]
        lines += [f"delete expired index {name}" for name in self.deleted]
        lines += [f"keep {prefix}-* forever (retention_days: never)" for prefix in self.never]
        return lines


class IsmUnavailable(Exception):
    pass


class RetentionManager:
    def __init__(self, client: AsyncOpenSearch, *, sweep_interval_s: float = 3600.0) -> None:
        self.client = client
        self.sweep_interval_s = sweep_interval_s

    async def apply(self, routes: Sequence[Route], *, dry_run: bool = False) -> RetentionPlan:
        plan = RetentionPlan(
            never=sorted({r.index_prefix for r in routes if r.retention_days is None})
        )
        try:
            for spec in policy_specs(routes):
                await self._ensure_policy(spec, plan, dry_run)
        except IsmUnavailable:
            plan.ism = False
            plan.created.clear()
            plan.updated.clear()
            plan.unchanged.clear()
            plan.attached.clear()
            plan.deleted = await self.sweep(routes, dry_run=dry_run)
        return plan

    async def _ensure_policy(self, spec: PolicySpec, plan: RetentionPlan, dry_run: bool) -> None:
        wanted = policy_body(spec)
        for _ in range(2):  # a 409 means a concurrent change: read it again once
            current = await self._get(spec.policy_id)
            try:
                if current is None:
                    plan.created.append(spec.policy_id)
                    if not dry_run:
                        await self._request("PUT", _POLICIES + spec.policy_id, body=wanted)
                elif _comparable(current.get("policy", {})) != _comparable(wanted["policy"]):
                    plan.updated.append(spec.policy_id)
                    if not dry_run:
                        await self._request(
                            "PUT",
                            _POLICIES + spec.policy_id,
                            body=wanted,
                            params={
                                "if_seq_no": current["_seq_no"],
                                "if_primary_term": current["_primary_term"],
                            },
                        )
                else:
                    plan.unchanged.append(spec.policy_id)
                break
            except ConflictError:
                for names in (plan.created, plan.updated):
                    if spec.policy_id in names:
                        names.remove(spec.policy_id)
                continue
        for pattern in spec.index_patterns:
            if dry_run:
                continue
            answer = await self._request(
                "POST", f"/_plugins/_ism/add/{pattern}", body={"policy_id": spec.policy_id}
            )
            if isinstance(answer, dict) and answer.get("updated_indices"):
                plan.attached[pattern] = int(answer["updated_indices"])

    async def _get(self, policy: str) -> dict[str, Any] | None:
        try:
            answer = await self._request("GET", _POLICIES + policy)
        except NotFoundError:
            return None
        return answer if isinstance(answer, dict) else None

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            return await self.client.transport.perform_request(method, path, **kwargs)
        except RequestError as error:
            if "no handler found" in str(error.error) or "no handler found" in str(error.info):
                raise IsmUnavailable from error
            raise

    async def sweep(
        self, routes: Iterable[Route], *, today: date | None = None, dry_run: bool = False
    ) -> list[str]:
        """Delete (or, dry, list) the day indices past their route's retention."""
        routes = list(routes)
        today = today or datetime.now(UTC).date()
        names: list[str] = []
        for prefix in sorted({r.index_prefix for r in routes if r.retention_days is not None}):
            try:
                rows = await self.client.cat.indices(index=f"{prefix}-2*", format="json")
            except NotFoundError:
                continue
            names += [row["index"] for row in rows]
        expired = expired_indices(names, routes, today)
        if not dry_run:
            for name in expired:
                with contextlib.suppress(NotFoundError):  # another replica's sweeper was first
                    await self.client.indices.delete(index=name)
                log.info("retention: deleted expired index %s", name)
        return expired

    async def sweep_forever(self, routes: Sequence[Route]) -> None:
        while True:
            try:
                await self.sweep(routes)
            except TransportError as error:
                log.warning("retention sweep failed, retrying later: %s", error)
            await asyncio.sleep(self.sweep_interval_s)


def _comparable(policy: dict[str, Any]) -> dict[str, Any]:
    """The parts of a policy we set, without the read-only fields the plugin adds."""
    kept = {key: value for key, value in policy.items() if key not in _READ_ONLY_FIELDS}
    templates = kept.get("ism_template")
    if isinstance(templates, dict):
        templates = [templates]
    if isinstance(templates, list):
        kept["ism_template"] = [
            {"index_patterns": t.get("index_patterns"), "priority": t.get("priority", 0)}
            for t in templates
            if isinstance(t, dict)
        ]
    return kept
