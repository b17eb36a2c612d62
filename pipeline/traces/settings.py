"""The ``traces`` section of the config: where segments come from and where spans go."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config_values import Bounds, Section
from pipeline.patterns import MatchAll
from pipeline.routing import RETENTION_DAYS, Route

__all__ = ["WAIT_SECONDS", "TracesConfig", "parse_traces"]

#: a wait for a trace's root or a call's other side: long enough for a slow producer,
#: short enough that a span's trace group and the service map stay timely
WAIT_SECONDS = Bounds(0, 600, low_open=True)
PENDING_BYTES = Bounds(1 << 20, 1 << 34)


@dataclass(frozen=True, slots=True)
class TracesConfig:
    enabled: bool = True
    input_topics: tuple[str, ...] = ("cwl-traces",)
    span_index_prefix: str = "otel-v1-apm-span"
    span_retention_days: int | None = 7
    service_map_index: str = "otel-v1-apm-service-map"
    #: None: one index that is never deleted (Data Prepper's); a number: day indices
    service_map_retention_days: int | None = None
    #: how long spans indexed without their trace's root wait for it (then counted as missing)
    trace_group_wait_s: float = 50.0
    #: how long a service-map edge waits for its trace group or its called service
    service_map_wait_s: float = 20.0
    #: what the spans waiting for their root may keep, in bytes (oldest given up first)
    max_pending_bytes: int = 32 << 20

    @property
    def service_map_daily(self) -> bool:
        return self.service_map_retention_days is not None

    def retention_routes(self) -> tuple[Route, ...]:
        """The trace indices as routes, so the retention machinery (ISM policies or the
        sweeper) keeps them like log indices: day indices older than the retention go."""
        if not self.enabled:
            return ()
        routes = [
            Route("spans", (), MatchAll(""), self.span_index_prefix, self.span_retention_days)
        ]
        if self.service_map_daily:
            routes.append(
                Route(
                    "service-map",
                    (),
                    MatchAll(""),
                    self.service_map_index,
                    self.service_map_retention_days,
                )
            )
        return tuple(routes)


def parse_traces(section: Section) -> TracesConfig:
    defaults = TracesConfig()
    section.only(list(TracesConfig.__dataclass_fields__))
    topics = section.strings("input_topics", list(defaults.input_topics))
    if not topics:
        raise section.error("input_topics", "needs at least one topic (or enabled: false)")
    return TracesConfig(
        enabled=section.boolean("enabled", defaults.enabled),
        input_topics=topics,
        span_index_prefix=_prefix(section, "span_index_prefix", defaults.span_index_prefix),
        span_retention_days=_days(section, "span_retention_days", defaults.span_retention_days),
        service_map_index=_prefix(section, "service_map_index", defaults.service_map_index),
        service_map_retention_days=_days(
            section, "service_map_retention_days", defaults.service_map_retention_days
        ),
        trace_group_wait_s=section.number(
            "trace_group_wait_s", defaults.trace_group_wait_s, WAIT_SECONDS
        ),
        service_map_wait_s=section.number(
            "service_map_wait_s", defaults.service_map_wait_s, WAIT_SECONDS
        ),
        max_pending_bytes=section.integer(
            "max_pending_bytes", defaults.max_pending_bytes, PENDING_BYTES
        ),
    )


def _prefix(section: Section, key: str, default: str) -> str:
    value = section.string(key, default)
    if not value or value != value.lower() or any(c in value for c in ' ,"*\\/<>|?#:'):
        raise section.error(key, f"{value!r} is not a valid OpenSearch index name (lower case)")
    return value


def _days(section: Section, key: str, default: int | None) -> int | None:
    value = section.raw(key, "never" if default is None else default)
    if value == "never":
        return None
    if isinstance(value, bool) or value not in RETENTION_DAYS:
        raise section.error(
            key,
            f"{value!r} is not one of CloudWatch's values ("
            + ", ".join(map(str, RETENTION_DAYS))
            + ") or never",
        )
    return int(value)
