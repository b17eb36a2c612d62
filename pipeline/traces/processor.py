"""The trace pipeline's core: records of segment documents in, span and service-map documents
and edge statistics out, with the little cross-record state traces need.

Three things cannot be decided from one segment document alone, and each
waits a bounded time in memory (bounded in bytes or entries as well):

- A span's ``traceGroup`` comes from its trace's root span, which may arrive
  later. The span is indexed at once without it; when the root arrives within
  ``trace_group_wait_s`` the span is indexed again, complete, under the same
  ``_id`` (an overwrite). Spans still waiting after that are counted as
  missing their trace group (they stay indexed without it).
- A service-map edge exists where a span calls a span of another service;
  the two arrive in any order, and the edge's documents carry the trace group.
  An edge waits up to ``service_map_wait_s`` for its trace group, then is
  written with none.
- X-Ray counts a call from the client's side, but a traced call's server is
  the called segment's service, known only once that segment arrives; after
  ``service_map_wait_s`` without it the call counts against the inferred node
  named by the client's subsegment (as X-Ray draws an uninstrumented callee).

Nothing waits for a record to be written: state lives beside the documents,
so a redelivered record only overwrites what is indexed (ids are stable) and
a restart loses no document, only the chance to complete a waiting one.
Time comes from ``clock`` (seconds, monotonic), so tests drive it.
"""

from __future__ import annotations

import calendar
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from pipeline.documents import IndexAction, day_index
from pipeline.errors import TraceError
from pipeline.process import DeadLetter, Outcome
from pipeline.traces.packets import segment_documents
from pipeline.traces.service_map import EdgeSample, edge_outcome, isolated, relationships
from pipeline.traces.settings import TracesConfig
from pipeline.traces.spans import KIND_CLIENT, KIND_SERVER, spans_from_segment, trace_group_fields

__all__ = ["TRACE_COUNTERS", "TraceProcessor"]

#: what :attr:`DerivedMetrics.traces` counts, by key
TRACE_COUNTERS = {
    "segments": "segment documents read",
    "spans": "span documents indexed (first time)",
    "trace_group_filled": "spans indexed again once their trace's root arrived",
    "trace_group_missing": "spans whose trace's root did not arrive in time",
    "service_map_documents": "service-map relationship documents written",
    "edges_inferred": "client calls counted against an inferred node after the wait",
}
#: what one entry of a lookup table costs, about (ids, names, the table's own overhead):
#: the tables are bounded to ``max_pending_bytes / ENTRY_BYTES`` entries each
ENTRY_BYTES = 512
#: service-map hash ids remembered as written (each ~100 bytes)
MAX_ENTRIES = 100_000
_SPAN = "span.attributes."

K = TypeVar("K")
V = TypeVar("V")


class _Expiring(Generic[K, V]):
    """Insertion-ordered entries that expire a fixed time after they were last set, and at
    most ``limit`` of them (the oldest go first). Every entry of one map has the same
    lifetime, so the oldest is always the first to expire."""

    def __init__(self, lifetime: float, limit: int) -> None:
        self.lifetime = lifetime
        self.limit = limit
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        return None if found is None else found[1]

    def set(self, key: K, value: V, now: float) -> list[tuple[K, V]]:
        """Store ``value``; returns what had to go to stay within ``limit``."""
        self._entries[key] = (now + self.lifetime, value)
        self._entries.move_to_end(key)
        evicted = []
        while len(self._entries) > self.limit:
            old_key, (_, old_value) = self._entries.popitem(last=False)
            evicted.append((old_key, old_value))
        return evicted

    def pop(self, key: K) -> V | None:
        found = self._entries.pop(key, None)
        return None if found is None else found[1]

    def pop_oldest(self) -> V | None:
        if not self._entries:
            return None
        return self._entries.popitem(last=False)[1][1]

    def drop_expired(self, now: float) -> None:
        for _ in self.expired(now):
            pass

    def expired(self, now: float) -> Iterator[tuple[K, V]]:
        """Remove and yield the entries whose time is up."""
        while self._entries:
            key, (deadline, value) = next(iter(self._entries.items()))
            if deadline > now:
                return
            del self._entries[key]
            yield key, value


@dataclass(slots=True)
class _SpanRef:
    """What the service map needs of a span once its document is gone."""

    trace_id: str
    service: str
    kind: str
    name: str
    start_ms: int
    is_segment: bool
    origin: str


@dataclass(slots=True)
class _Call:
    """A finished client call (an ``aws``/``remote`` subsegment) waiting for its server."""

    caller: _SpanRef
    inferred: str  # the subsegment's name: the node X-Ray infers when no segment answers
    inferred_type: str
    operation: str
    outcome: str
    seconds: float


@dataclass(slots=True)
class _Orphans:
    """The spans of one trace indexed before its root, kept to be indexed again with it."""

    spans: dict[str, tuple[str, dict[str, Any], int]]  # span id -> (index, source, size)
    size: int = 0


class TraceProcessor:
    """One per consumer, like :class:`pipeline.process.Processor`; not thread-safe (the loop
    processes records in one worker thread)."""

    def __init__(self, config: TracesConfig, *, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.clock = clock
        group_wait, map_wait = config.trace_group_wait_s, config.service_map_wait_s
        n = max(1000, config.max_pending_bytes // ENTRY_BYTES)  # each lookup table's bound
        # trace id -> its root's traceGroup fields
        self.roots: _Expiring[str, dict[str, Any]] = _Expiring(max(group_wait, map_wait) * 2, n)
        self.orphans: _Expiring[str, _Orphans] = _Expiring(group_wait, n)
        self.pending_bytes = 0
        # span id -> what a later child needs of it
        self.spans: _Expiring[str, _SpanRef] = _Expiring(max(group_wait, map_wait) * 2, n)
        # parent span id -> children that arrived before it
        self.children: _Expiring[str, list[_SpanRef]] = _Expiring(map_wait, n)
        # trace id -> service-map documents waiting for the trace group
        self.edges: _Expiring[str, list[tuple[_SpanRef | None, _SpanRef]]] = _Expiring(map_wait, n)
        # client span id -> its call, waiting for the segment that answered it
        self.calls: _Expiring[str, _Call] = _Expiring(map_wait, n)
        # client span id -> the segment that answered it, arrived before the call
        self.answers: _Expiring[str, _SpanRef] = _Expiring(map_wait, n)
        self.counted: _Expiring[str, bool] = _Expiring(max(group_wait, map_wait) * 4, n)
        self.written: OrderedDict[str, None] = OrderedDict()  # service-map hash ids

    # -- the door ----------------------------------------------------------------------------

    def process(self, value: bytes | None) -> Outcome:
        """Every document one record yields; a record with any invalid segment is a dead
        letter as a whole (stage ``trace``), so it can be replayed as it came."""
        outcome = Outcome()
        if not value:
            outcome.dead_letter = DeadLetter("trace", "empty record value")
            return outcome
        try:
            segments = segment_documents(value)
            spans = [spans_from_segment(segment) for segment in segments]
        except TraceError as error:
            outcome.dead_letter = DeadLetter("trace", str(error))
            return outcome
        now = self.clock()
        self._expire(now, outcome)
        counts = outcome.derived.traces
        counts["segments"] = counts.get("segments", 0) + len(segments)
        for segment, group in zip(segments, spans, strict=True):
            independent = segment.get("type") == "subsegment"
            for position, span in enumerate(group):
                first = position == 0
                self._span(span, first and independent, first and not independent, now, outcome)
        outcome.events = len(outcome.actions)
        return outcome

    def flush(self, everything: bool = False) -> Outcome:
        """What the waits that ran out yield, for when no record comes to carry it;
        ``everything`` ends every wait now (at shutdown: what waits would be lost)."""
        outcome = Outcome()
        self._expire(float("inf") if everything else self.clock(), outcome)
        outcome.events = len(outcome.actions)
        return outcome

    def waiting(self) -> bool:
        """Whether anything waits that :meth:`flush` may have to finish."""
        return bool(len(self.orphans) or len(self.edges) or len(self.calls))

    # -- one span ----------------------------------------------------------------------------

    def _span(
        self, span: dict[str, Any], independent: bool, is_segment: bool, now: float, out: Outcome
    ) -> None:
        trace_id, span_id, parent_id = span["traceId"], span["spanId"], span["parentSpanId"]
        if independent:
            owner = self.spans.get(f"{trace_id}/{parent_id}")
            if owner is not None:  # a subsegment sent on its own belongs to its segment's service
                span["serviceName"] = owner.service
                span["resource.attributes.service@name"] = owner.service
        start_ms = _millis(span["startTime"])
        index = day_index(self.config.span_index_prefix, start_ms)
        is_root = parent_id == ""
        if is_root:
            fields = trace_group_fields(span)
            span.update(fields)
            self.roots.set(trace_id, fields, now)
            self._adopt(trace_id, fields, out)
        elif "traceGroup" not in span:
            fields_found = self.roots.get(trace_id)
            if fields_found is not None:
                span.update(fields_found)
            else:
                self._wait_for_root(trace_id, span_id, index, span, now, out)
        key = f"{trace_id}/{span_id}"  # span ids are unique within a trace, not across them
        first = self.counted.get(key) is None
        if first:
            self.counted.set(key, True, now)
            out.derived.traces["spans"] = out.derived.traces.get("spans", 0) + 1
        out.actions.append(IndexAction(index, f"{trace_id}/{span_id}", span))
        ref = _SpanRef(
            trace_id,
            span["serviceName"],
            span["kind"],
            span["name"],
            start_ms,
            is_segment,
            str(span.get("resource.attributes.aws@xray@origin", "")),
        )
        self.spans.set(key, ref, now)
        self._link(ref, span_id, parent_id, now, out)
        if "endTime" in span and span["kind"] == KIND_CLIENT and first:
            self._call(ref, span_id, span, now, out)

    def _wait_for_root(
        self,
        trace_id: str,
        span_id: str,
        index: str,
        span: dict[str, Any],
        now: float,
        out: Outcome,
    ) -> None:
        size = len(orjson.dumps(span))
        orphans = self.orphans.get(trace_id)
        if orphans is None:
            orphans = _Orphans({})
            for _, given_up in self.orphans.set(trace_id, orphans, now):
                self._give_up(given_up, out)
        previous = orphans.spans.get(span_id)
        if previous is not None:
            orphans.size -= previous[2]
            self.pending_bytes -= previous[2]
        orphans.spans[span_id] = (index, dict(span), size)
        orphans.size += size
        self.pending_bytes += size
        while self.pending_bytes > self.config.max_pending_bytes:
            oldest = self.orphans.pop_oldest()
            if oldest is None:
                break
            self._give_up(oldest, out)

    def _give_up(self, orphans: _Orphans, out: Outcome) -> None:
        self.pending_bytes -= orphans.size
        counts = out.derived.traces
        counts["trace_group_missing"] = counts.get("trace_group_missing", 0) + len(orphans.spans)

    def _adopt(self, trace_id: str, fields: dict[str, Any], out: Outcome) -> None:
        """The root arrived: its waiting spans are indexed again with their trace group,
        and the trace's waiting service-map documents are written."""
        orphans = self.orphans.pop(trace_id)
        if orphans is not None:
            self.pending_bytes -= orphans.size
            for span_id, (index, source, _) in orphans.spans.items():
                source.update(fields)
                out.actions.append(IndexAction(index, f"{trace_id}/{span_id}", source))
            counts = out.derived.traces
            counts["trace_group_filled"] = counts.get("trace_group_filled", 0) + len(orphans.spans)
        waiting = self.edges.pop(trace_id)
        if waiting is not None:
            for parent, child in waiting:
                self._relationships(parent, child, fields["traceGroup"], out)

    # -- the service map ---------------------------------------------------------------------

    def _link(self, ref: _SpanRef, span_id: str, parent_id: str, now: float, out: Outcome) -> None:
        """Service-map documents for this span and its parent, and for children that came
        before it; every segment is also on the map on its own."""
        if ref.is_segment:
            self._edge(None, ref, now, out)
        if parent_id:
            parent = self.spans.get(f"{ref.trace_id}/{parent_id}")
            if parent is None:
                waiting = self.children.get(f"{ref.trace_id}/{parent_id}") or []
                waiting.append(ref)
                self.children.set(f"{ref.trace_id}/{parent_id}", waiting, now)
            elif parent.service != ref.service:
                self._edge(parent, ref, now, out)
        for child in self.children.pop(f"{ref.trace_id}/{span_id}") or []:
            if child.service != ref.service:
                self._edge(ref, child, now, out)
        if ref.is_segment and parent_id:
            call = self.calls.pop(f"{ref.trace_id}/{parent_id}")
            if call is None:
                self.answers.set(f"{ref.trace_id}/{parent_id}", ref, now)
            else:
                self._count_call(call, ref.service, ref.origin or "service", out)

    def _edge(self, parent: _SpanRef | None, child: _SpanRef, now: float, out: Outcome) -> None:
        fields = self.roots.get(child.trace_id)
        if fields is not None:
            self._relationships(parent, child, fields["traceGroup"], out)
            return
        waiting = self.edges.get(child.trace_id) or []
        waiting.append((parent, child))
        for _, crowded_out in self.edges.set(child.trace_id, waiting, now):
            for early_parent, early_child in crowded_out:  # written now rather than lost
                self._relationships(early_parent, early_child, None, out)

    def _relationships(
        self, parent: _SpanRef | None, child: _SpanRef, trace_group: str | None, out: Outcome
    ) -> None:
        if parent is None:
            documents = [isolated(child.service, trace_group)]
        else:
            documents = relationships(
                parent.service, parent.kind, child.service, child.kind, child.name, trace_group
            )
        for document in documents:
            hash_id = document["hashId"]
            if hash_id in self.written:
                self.written.move_to_end(hash_id)
                continue
            self.written[hash_id] = None
            if len(self.written) > MAX_ENTRIES:
                self.written.popitem(last=False)
            index = self.config.service_map_index
            if self.config.service_map_daily:
                index = day_index(index, child.start_ms)
            out.actions.append(IndexAction(index, hash_id, document))
            counts = out.derived.traces
            counts["service_map_documents"] = counts.get("service_map_documents", 0) + 1

    # -- edge statistics ---------------------------------------------------------------------

    def _call(
        self, ref: _SpanRef, span_id: str, span: dict[str, Any], now: float, out: Outcome
    ) -> None:
        namespace = span.get(_SPAN + "aws@xray@namespace")
        status = span.get(_SPAN + "http@status_code")
        call = _Call(
            ref,
            ref.name,
            f"AWS::{ref.name}" if namespace == "aws" else "remote",
            str(span.get(_SPAN + "aws@operation") or ref.name),
            edge_outcome(
                span.get(_SPAN + "aws@xray@error") == "true",
                span.get(_SPAN + "aws@xray@fault") == "true",
                span.get(_SPAN + "aws@xray@throttle") == "true",
                int(status) if isinstance(status, str) and status.isdigit() else None,
            ),
            span.get("durationInNanos", 0) / 1e9,
        )
        answer = self.answers.pop(f"{ref.trace_id}/{span_id}")
        if answer is not None:
            self._count_call(call, answer.service, answer.origin or "service", out)
        elif span.get(_SPAN + "aws@xray@traced") == "true":
            waiting_key = f"{ref.trace_id}/{span_id}"
            for _, crowded_out in self.calls.set(waiting_key, call, now):  # its segment may come
                self._infer(crowded_out, now, out)
        else:
            self._infer(call, now, out)

    def _infer(self, call: _Call, now: float, out: Outcome) -> None:
        """A call nobody answered with a segment: X-Ray's inferred node."""
        self._count_call(call, call.inferred, call.inferred_type, out)
        node = _SpanRef(
            call.caller.trace_id,
            call.inferred,
            KIND_SERVER,
            call.operation,
            call.caller.start_ms,
            False,
            call.inferred_type,
        )
        self._edge(call.caller, node, now, out)

    def _count_call(self, call: _Call, server: str, server_type: str, out: Outcome) -> None:
        out.derived.edges.append(
            EdgeSample(call.caller.service, server, server_type, call.outcome, call.seconds)
        )

    # -- time --------------------------------------------------------------------------------

    def _expire(self, now: float, out: Outcome) -> None:
        for _, orphans in self.orphans.expired(now):
            self._give_up(orphans, out)
        for _, waiting in self.edges.expired(now):
            for parent, child in waiting:
                self._relationships(parent, child, None, out)
        for _, call in self.calls.expired(now):
            out.derived.traces["edges_inferred"] = out.derived.traces.get("edges_inferred", 0) + 1
            self._infer(call, now, out)
        for done in (self.children, self.answers, self.roots, self.spans, self.counted):
            done.drop_expired(now)


def _millis(rfc3339: str) -> int:
    """Epoch milliseconds of a span's ``startTime`` (UTC, as :func:`rfc3339_nanos` writes it);
    the day's start is computed once per day (``strptime`` was a third of the core's time)."""
    day = _DAY_MS.get(rfc3339[:10])
    if day is None:
        if len(_DAY_MS) > 1000:
            _DAY_MS.clear()
        day = _DAY_MS[rfc3339[:10]] = (
            calendar.timegm(time.strptime(rfc3339[:10], "%Y-%m-%d")) * 1000
        )
    return (
        day
        + int(rfc3339[11:13]) * 3_600_000
        + int(rfc3339[14:16]) * 60_000
        + int(rfc3339[17:19]) * 1000
        + int(rfc3339[20:23])
    )


_DAY_MS: dict[str, int] = {}
