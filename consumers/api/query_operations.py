"""StartQuery, GetQueryResults, StopQuery, DescribeQueries and GetLogRecord.

A query is parsed before StartQuery answers, so an invalid one is AWS's
MalformedQueryException with where the error is; its log groups must exist
(ResourceNotFoundException otherwise). StartQuery's times are epoch
*seconds*, inclusive: the end second is included whole. Results are
GetQueryResults' shape (values as strings, ``@ptr`` on rows that come from one
event); ``@ptr`` is the event id, which GetLogRecord takes back.
"""

from __future__ import annotations

from typing import Any

from consumers.api.context import ApiContext
from consumers.api.errors import invalid_parameter, malformed_query, resource_not_found
from consumers.api.paging import page_after
from consumers.api.params import Params
from consumers.api.tokens import decode_token, encode_token, fingerprint, invalid_token
from consumers.insights.output import get_query_results as results_shape
from pipeline.errors import InsightsError
from pipeline.insights import parse_query
from pipeline.insights.discovered import Timestamp, discovered_fields
from pipeline.insights.functions import to_text

__all__ = [
    "describe_queries",
    "get_log_record",
    "get_query_results",
    "start_query",
    "stop_query",
]

MAX_GROUPS = 50
STATUSES = ("Scheduled", "Running", "Complete", "Failed", "Cancelled", "Timeout", "Unknown")


def _groups(params: Params) -> list[str] | None:
    given = [
        name
        for name in ("logGroupName", "logGroupNames", "logGroupIdentifiers")
        if params.has(name)
    ]
    if len(given) > 1:
        raise invalid_parameter(
            "Specify exactly one of logGroupName, logGroupNames and logGroupIdentifiers."
        )
    if not given:
        return None
    if given[0] == "logGroupName":
        return [params.required_string("logGroupName", min_len=1, max_len=512)]
    names = params.strings(given[0], min_items=1, max_items=MAX_GROUPS, min_len=1) or []
    return [
        name.partition(":log-group:")[2].removesuffix(":*") if name.startswith("arn:") else name
        for name in names
    ]


async def start_query(context: ApiContext, params: Params) -> dict[str, Any]:
    language = params.choice("queryLanguage", ("CWLI", "SQL", "PPL"))
    if language not in (None, "CWLI"):
        raise invalid_parameter(f"queryLanguage {language} is not supported here; use CWLI.")
    text = params.required_string("queryString", max_len=10_000)
    start_s = params.integer("startTime", low=0, required=True)
    end_s = params.integer("endTime", low=0, required=True)
    assert start_s is not None and end_s is not None
    limit = params.integer("limit", low=1, high=100_000)
    groups = _groups(params)
    if end_s < start_s:
        raise invalid_parameter("endTime must be greater than or equal to startTime.")
    try:
        query = parse_query(text)
    except InsightsError as error:
        raise malformed_query(error.reason, error.position) from None
    if groups is None and query.source is None:
        raise invalid_parameter(
            "Specify exactly one of logGroupName, logGroupNames and logGroupIdentifiers."
        )
    missing = await context.store.missing_groups(groups or [])
    if missing:
        raise resource_not_found(f"Log group '{missing[0]}' does not exist.")
    record = context.queries.start(
        text, query, groups or [], start_s * 1000, end_s * 1000 + 999, limit
    )
    return {"queryId": record.query_id}


def _record(context: ApiContext, params: Params) -> Any:
    query_id = params.required_string("queryId", min_len=1, max_len=256)
    record = context.queries.get(query_id)
    if record is None:
        raise resource_not_found(f"Query does not exist: {query_id}")
    return record


async def get_query_results(context: ApiContext, params: Params) -> dict[str, Any]:
    record = _record(context, params)
    max_items = params.integer("maxItems", low=0, high=10_000)
    token = params.string("nextToken", max_len=1024)
    answer: dict[str, Any] = {
        "queryLanguage": "CWLI",
        "results": [],
        "statistics": {"recordsMatched": 0.0, "recordsScanned": 0.0, "bytesScanned": 0.0},
        "status": record.status,
    }
    if record.run is None:
        return answer
    shaped = results_shape(record.run)
    rows: list[Any] = shaped["results"]
    if record.limit is not None:
        rows = rows[: record.limit]
    offset = 0
    if token:
        offset = decode_token(token, "results", record.query_id)
        if not isinstance(offset, int) or not 0 <= offset <= len(rows):
            raise invalid_token()
    end = len(rows) if not max_items else min(len(rows), offset + max_items)
    answer["results"] = rows[offset:end]
    answer["statistics"] = shaped["statistics"]
    if end < len(rows):
        answer["nextToken"] = encode_token("results", record.query_id, end)
    return answer


async def stop_query(context: ApiContext, params: Params) -> dict[str, Any]:
    record = _record(context, params)
    return {"success": context.queries.stop(record.query_id)}


async def describe_queries(context: ApiContext, params: Params) -> dict[str, Any]:
    group = params.string("logGroupName", min_len=1, max_len=512)
    status = params.choice("status", STATUSES)
    limit = params.integer("maxResults", low=1, high=1000) or 1000
    token = params.string("nextToken", min_len=1)
    language = params.choice("queryLanguage", ("CWLI", "SQL", "PPL"))
    records = [
        record
        for record in context.queries.all()
        if (group is None or group in record.groups)
        and (status is None or record.status == status)
        and language in (None, "CWLI")
    ]
    page, next_token = page_after(
        records,
        lambda record: (record.created_ms, record.query_id),
        descending=True,
        limit=limit,
        token=token,
        kind="queries",
        bound_to=fingerprint(group, status, language),
    )
    answer: dict[str, Any] = {"queries": [context.queries.describe(r) for r in page]}
    if next_token:
        answer["nextToken"] = next_token
    return answer


async def get_log_record(context: ApiContext, params: Params) -> dict[str, Any]:
    pointer = params.required_string("logRecordPointer", min_len=1)
    document = await context.store.document(pointer)
    if document is None:
        raise resource_not_found("The specified log record does not exist.")
    fields = discovered_fields(document)
    fields.pop("@ptr", None)
    record: dict[str, str] = {}
    for name, value in fields.items():
        if isinstance(value, Timestamp):
            record[name] = str(int(value))
        else:
            record[name] = to_text(value) or ""
    if "@timestamp" in record:
        record["@ingestionTime"] = record["@timestamp"]
    return {"logRecord": record}
