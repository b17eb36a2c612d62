"""FilterLogEvents and GetLogEvents: events in ``(timestamp, eventId)`` order, paged exactly.

The store narrows by group, stream and time; the filter pattern is the
project's own (:func:`pipeline.patterns.compile_pattern`), evaluated here on
each event the store returns, so the answer is exactly the events the engine
matches. A token is the sort key of the last event looked at, and the next
page starts strictly after it: no event is skipped or repeated. A page stops
at ``limit`` events, at 1 MB of events (as AWS's), or when its scan budget is
spent, in which case it answers what it found with a token to go on (AWS's
pages may be empty for the same reason).
"""

from __future__ import annotations

import time
from typing import Any

from consumers.api.context import ApiContext
from consumers.api.errors import invalid_parameter, resource_not_found
from consumers.api.groups import group_name, require_group
from consumers.api.params import Params
from consumers.api.store import Event
from consumers.api.tokens import decode_token, encode_token, fingerprint, invalid_token
from pipeline.errors import PatternError
from pipeline.patterns import compile_pattern

__all__ = ["MAX_RESPONSE_BYTES", "filter_log_events", "get_log_events"]

MAX_EVENTS = 10_000
MAX_RESPONSE_BYTES = 1024 * 1024
PAGE = 1000
#: events one FilterLogEvents call looks at, and for how long, before it answers with a token
SCAN_BUDGET_EVENTS = 200_000
SCAN_BUDGET_S = 10.0


def _narrowing(
    group: str,
    streams: list[str] | None,
    stream_prefix: str | None,
    start: int | None,
    end: int | None,
    *,
    end_exclusive: bool,
) -> dict[str, Any]:
    filters: list[dict[str, Any]] = [{"term": {"@log_group": group}}]
    if streams:
        filters.append({"terms": {"@log_stream": streams}})
    if stream_prefix:
        filters.append({"prefix": {"@log_stream": stream_prefix}})
    if start is not None or end is not None:
        bounds: dict[str, Any] = {"format": "epoch_millis"}
        if start is not None:
            bounds["gte"] = start
        if end is not None:
            bounds["lt" if end_exclusive else "lte"] = end
        filters.append({"range": {"@timestamp": bounds}})
    return {"bool": {"filter": filters}}


async def filter_log_events(context: ApiContext, params: Params) -> dict[str, Any]:
    group = group_name(params)
    assert group is not None
    streams = params.strings("logStreamNames", min_items=1, max_items=100, min_len=1)
    prefix = params.string("logStreamNamePrefix", min_len=1, max_len=512)
    if streams is not None and prefix is not None:
        raise invalid_parameter("Cannot specify both logStreamNames and logStreamNamePrefix.")
    start = params.integer("startTime", low=0)
    end = params.integer("endTime", low=0)
    pattern_text = params.string("filterPattern", max_len=1024) or ""
    limit = params.integer("limit", low=1, high=MAX_EVENTS) or MAX_EVENTS
    token = params.string("nextToken", min_len=1)
    ascending = params.boolean("startFromHead", True)
    try:
        pattern = compile_pattern(pattern_text)
    except PatternError as error:
        raise invalid_parameter(f"Invalid filter pattern: {error.reason}") from None
    bound = fingerprint("filter", group, streams, prefix, start, end, pattern_text)
    after: list[Any] | None = None
    if token is not None:
        position = decode_token(token, "filter", bound)
        if not (isinstance(position, list) and len(position) == 2):
            raise invalid_token()
        ascending, after = bool(position[0]), position[1]
    else:
        await require_group(context, group)
    query = _narrowing(group, streams, prefix, start, end, end_exclusive=False)
    found: list[Event] = []
    size = 0
    scanned = 0
    deadline = time.monotonic() + SCAN_BUDGET_S
    resume: list[Any] | None = None
    while True:
        page = await context.store.events(query, ascending=ascending, after=after, size=PAGE)
        for event in page:
            scanned += 1
            if pattern.match(event.message) is not None:
                found.append(event)
                size += event.size
                if len(found) >= limit or size >= MAX_RESPONSE_BYTES:
                    resume = event.sort
                    break
        if resume is not None or len(page) < PAGE:
            break  # full, or the store has nothing more
        after = page[-1].sort
        if scanned >= SCAN_BUDGET_EVENTS or time.monotonic() > deadline:
            resume = after
            break
    answer: dict[str, Any] = {
        "events": [
            {
                "logStreamName": event.log_stream,
                "timestamp": event.timestamp,
                "message": event.message,
                "ingestionTime": event.timestamp,
                "eventId": event.id,
            }
            for event in found
        ],
        "searchedLogStreams": [],
    }
    if resume is not None:
        answer["nextToken"] = encode_token("filter", bound, [ascending, resume])
    return answer


async def get_log_events(context: ApiContext, params: Params) -> dict[str, Any]:
    """One page of a stream. A forward token means "strictly after this event", a backward one
    "strictly before"; an empty page gives back the token it was given, which is how clients
    know they reached the end. ``endTime`` is exclusive here, as AWS documents it."""
    group = group_name(params)
    assert group is not None
    stream = params.required_string("logStreamName", min_len=1, max_len=512)
    start = params.integer("startTime", low=0)
    end = params.integer("endTime", low=0)
    limit = params.integer("limit", low=1, high=MAX_EVENTS) or MAX_EVENTS
    token = params.string("nextToken", min_len=1)
    from_head = params.boolean("startFromHead", False)
    bound = fingerprint("get", group, stream)
    forward = from_head
    key: list[Any] | None = None
    if token is not None:
        if token[:2] not in ("f/", "b/"):
            raise invalid_token()
        forward = token.startswith("f/")
        key = decode_token(token, "get", bound, prefix=token[:2])
        if key is not None and not (isinstance(key, list) and len(key) == 2):
            raise invalid_token()
    if await context.store.count(group, stream) == 0:
        await require_group(context, group)
        raise resource_not_found("The specified log stream does not exist.")
    query = _narrowing(group, [stream], None, start, end, end_exclusive=True)
    page = await context.store.events(query, ascending=forward, after=key, size=limit)
    kept: list[Event] = []
    size = 0
    for event in page:
        size += event.size
        if kept and size > MAX_RESPONSE_BYTES:
            break
        kept.append(event)
    if not forward:
        kept.reverse()
    if kept:
        next_forward = encode_token("get", bound, kept[-1].sort, prefix="f/")
        next_backward = encode_token("get", bound, kept[0].sort, prefix="b/")
    else:
        # nothing beyond the cursor in its direction: give its token back (the end), and for
        # the other direction everything there is, from that end
        given = token or encode_token("get", bound, None, prefix="f/" if forward else "b/")
        other = encode_token("get", bound, None, prefix="b/" if forward else "f/")
        next_forward, next_backward = (given, other) if forward else (other, given)
    return {
        "events": [
            {"timestamp": e.timestamp, "message": e.message, "ingestionTime": e.timestamp}
            for e in kept
        ],
        "nextForwardToken": next_forward,
        "nextBackwardToken": next_backward,
    }
