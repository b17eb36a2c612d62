"""Logs Insights queries in the background: StartQuery answers an id at once, the query runs.

Each query is a task of the server's loop running the Insights store executor
(:func:`consumers.insights.store.run_on_store`), bounded by the configured
timeout and scan cap. At most ``max_running`` run at once; the others wait
as ``Scheduled``; more than ``max_pending`` unfinished ones is AWS's
LimitExceededException. Statuses are AWS's: Scheduled, Running, Complete,
Failed, Cancelled (StopQuery) and Timeout. Finished queries are kept for
GetQueryResults and DescribeQueries, the oldest forgotten past ``KEEP``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from consumers.api.errors import limit_exceeded
from consumers.insights.store import InsightsRun
from consumers.runtime.errors import describe
from pipeline.insights import Query

__all__ = ["FINISHED", "QueryRecord", "QueryRegistry", "Runner"]

log = logging.getLogger("cwlpipe")

FINISHED = ("Complete", "Failed", "Cancelled", "Timeout")
#: finished queries remembered at most
KEEP = 1000
#: beyond the timeout, what the executor gets to stop its own scan and answer partially
GRACE_S = 5.0

#: runs one query on the store: (query, groups, start_ms, end_ms) -> its answer
Runner = Callable[[Query, Sequence[str], int, int], Awaitable[InsightsRun]]


@dataclass(slots=True)
class QueryRecord:
    query_id: str
    text: str
    query: Query
    groups: tuple[str, ...]
    start_ms: int
    end_ms: int
    limit: int | None
    created_ms: int
    status: str = "Scheduled"
    run: InsightsRun | None = None
    error: str | None = None
    finished_ms: int | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)
    done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)


class QueryRegistry:
    def __init__(
        self, runner: Runner, *, timeout_s: float, max_running: int, max_pending: int
    ) -> None:
        self._runner = runner
        self._timeout_s = timeout_s
        self._slots = asyncio.Semaphore(max_running)
        self._max_pending = max_pending
        self._records: OrderedDict[str, QueryRecord] = OrderedDict()

    def start(
        self,
        text: str,
        query: Query,
        groups: Sequence[str],
        start_ms: int,
        end_ms: int,
        limit: int | None,
    ) -> QueryRecord:
        pending = sum(1 for r in self._records.values() if r.status not in FINISHED)
        if pending >= self._max_pending:
            raise limit_exceeded(
                f"Account maximum query concurrency limit of [{self._max_pending}] reached."
            )
        record = QueryRecord(
            query_id=str(uuid.uuid4()),
            text=text,
            query=query,
            groups=tuple(groups),
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
            created_ms=int(time.time() * 1000),
        )
        self._records[record.query_id] = record
        record.task = asyncio.create_task(self._run(record), name=f"query {record.query_id}")
        self._forget_old()
        return record

    def get(self, query_id: str) -> QueryRecord | None:
        return self._records.get(query_id)

    def all(self) -> list[QueryRecord]:
        return list(self._records.values())

    def stop(self, query_id: str) -> bool:
        """Cancel a query that has not finished; False when it had."""
        record = self._records.get(query_id)
        if record is None or record.status in FINISHED or record.task is None:
            return False
        record.task.cancel()
        self._finish(record, "Cancelled")
        return True

    async def close(self) -> None:
        tasks = [r.task for r in self._records.values() if r.task and not r.task.done()]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self, record: QueryRecord) -> None:
        try:
            async with self._slots:
                if record.status in FINISHED:
                    return
                record.status = "Running"
                run = await asyncio.wait_for(
                    self._runner(record.query, record.groups, record.start_ms, record.end_ms),
                    self._timeout_s + GRACE_S,
                )
            record.run = run
            self._finish(record, "Complete")
        except asyncio.CancelledError:
            self._finish(record, "Cancelled")
            raise
        except TimeoutError:
            record.error = f"the query did not finish within {self._timeout_s:g} s"
            self._finish(record, "Timeout")
        except Exception as error:  # the store refused or went away; the query says so
            record.error = describe(error)
            log.warning("query %s failed: %s", record.query_id, record.error)
            self._finish(record, "Failed")

    def _finish(self, record: QueryRecord, status: str) -> None:
        if record.status in FINISHED:
            return
        record.status = status
        record.finished_ms = int(time.time() * 1000)
        record.done.set()

    def _forget_old(self) -> None:
        finished = [r.query_id for r in self._records.values() if r.status in FINISHED]
        for query_id in finished[: max(0, len(finished) - KEEP)]:
            del self._records[query_id]

    def describe(self, record: QueryRecord) -> dict[str, Any]:
        """QueryInfo, as DescribeQueries lists it."""
        info: dict[str, Any] = {
            "queryLanguage": "CWLI",
            "queryId": record.query_id,
            "queryString": record.text,
            "status": record.status,
            "createTime": record.created_ms,
        }
        if record.groups:
            info["logGroupName"] = record.groups[0]
        if record.finished_ms is not None:
            info["queryDuration"] = record.finished_ms - record.created_ms
        if record.run is not None:
            info["bytesScanned"] = float(record.run.bytes_scanned)
        return info
