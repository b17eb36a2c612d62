"""The one door into the core: one Kafka record value in, everything it yields out.

``Processor.process(value)`` decodes the delivery, routes each batch by log
group, keeps or drops each event by the route's subscription filter pattern,
derives metrics from every event (CloudWatch's metric filters see the whole
log group, kept or not) and builds one index action per kept event. A
delivery that cannot be decoded comes back as a dead letter with its stage
and reason; nothing is dropped without being counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.config import PipelineConfig
from pipeline.derived_metrics import DerivedMetrics, MetricsDeriver
from pipeline.documents import IndexAction, build_source, day_index
from pipeline.errors import PayloadError
from pipeline.patterns.message import ParsedMessage
from pipeline.payload import DEFAULT_MAX_INFLATED_BYTES, LogBatch, decode

__all__ = ["DeadLetter", "Outcome", "Processor"]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why a record (or one document of it) could not go where it belongs."""

    stage: str  # "decode", "process", "index" or "trace"
    reason: str


@dataclass(slots=True)
class Outcome:
    actions: list[IndexAction] = field(default_factory=list)
    derived: DerivedMetrics = field(default_factory=DerivedMetrics)
    dead_letter: DeadLetter | None = None  # the whole record
    batches: int = 0
    control_batches: int = 0
    events: int = 0
    filtered_out: int = 0
    filtered_by_route: dict[str, int] = field(default_factory=dict)
    newest_event_ms: int = 0  # for the lag metric


class Processor:
    """Compiled config plus the little state metrics need; one per consumer."""

    def __init__(
        self, config: PipelineConfig, max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES
    ) -> None:
        self.config = config
        self.router = config.router()
        self.deriver = MetricsDeriver(config)
        self.max_inflated_bytes = max_inflated_bytes

    def process(self, value: bytes | None) -> Outcome:
        outcome = Outcome()
        if not value:
            outcome.dead_letter = DeadLetter("decode", "empty record value")
            return outcome
        try:
            batches = decode(value, max_inflated_bytes=self.max_inflated_bytes)
        except PayloadError as error:
            outcome.dead_letter = DeadLetter("decode", str(error))
            return outcome
        for batch in batches:
            outcome.batches += 1
            if batch.is_control:
                outcome.control_batches += 1
                continue
            self._batch(batch, outcome)
        return outcome

    def _batch(self, batch: LogBatch, outcome: Outcome) -> None:
        route = self.router.route(batch.log_group)
        context = self.deriver.context(batch, route)
        pattern = route.filter_pattern
        keep_all = pattern.kind == "all"
        for event in batch.events:
            outcome.events += 1
            if event.timestamp > outcome.newest_event_ms:
                outcome.newest_event_ms = event.timestamp
            view = ParsedMessage(event.message)
            platform = self.deriver.observe(outcome.derived, context, view, event.timestamp)
            match = None if keep_all else pattern.match(view)
            if not keep_all and match is None:
                outcome.filtered_out += 1
                outcome.filtered_by_route[route.name] = (
                    outcome.filtered_by_route.get(route.name, 0) + 1
                )
                continue
            extracted = event.extracted_fields
            if extracted is None and match is not None and match.extracted_values:
                extracted = match.extracted_fields
            source = build_source(
                event_id=event.id,
                timestamp=event.timestamp,
                message=event.message,
                owner=batch.owner,
                log_group=batch.log_group,
                log_stream=batch.log_stream,
                extracted_fields=extracted,
                json_fields=route.json_fields,
                json_key=route.json_key,
                platform=platform,
                function=context.function,
                view=view,
            )
            outcome.actions.append(
                IndexAction(day_index(route.index_prefix, event.timestamp), event.id, source)
            )
