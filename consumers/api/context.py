"""What every operation may use: the store, the config, the query registry, the ARN parts.

One object built by the server, so operations are plain functions of
``(context, params)`` that tests can call with doubles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from consumers.api.store import LogStore
from consumers.config.service import ServiceConfig

if TYPE_CHECKING:
    from consumers.api.queries import QueryRegistry

__all__ = ["DEFAULT_ACCOUNT", "DEFAULT_REGION", "ApiContext"]

#: what an ARN says when the config names no region or a document no owner
DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "000000000000"


@dataclass(slots=True)
class ApiContext:
    store: LogStore
    config: ServiceConfig
    queries: QueryRegistry

    @property
    def region(self) -> str:
        return self.config.core.aws_region or DEFAULT_REGION

    def group_arn(self, group: str, owner: str | None) -> str:
        return f"arn:aws:logs:{self.region}:{owner or DEFAULT_ACCOUNT}:log-group:{group}"
