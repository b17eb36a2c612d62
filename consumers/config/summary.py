"""A config in a few lines for people: what ``cwlpipe validate`` prints, secrets masked."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from consumers.config.service import ServiceConfig
from pipeline.routing import Route

__all__ = ["mask_url", "summary"]


def mask_url(url: str) -> str:
    """``https://admin:s3cret@host`` -> ``https://admin:***@host``: summaries end up in tickets."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def summary(config: ServiceConfig) -> list[str]:
    routes = config.router().all_routes
    kafka, store = config.kafka, config.opensearch
    own_filters = sum(len(route.metric_filters) for route in routes)
    lines = [f"config: {config.file or '(built-in defaults)'}", f"routes: {len(routes)}"]
    lines += [f"  {_route(route)}" for route in routes]
    lines.append(
        f"metric filters: {len(config.core.metric_filters)} for every route, "
        f"{own_filters} on routes"
    )
    lines.append(
        f"kafka: {kafka.bootstrap_servers} ({kafka.security_protocol}), "
        f"input topics {', '.join(kafka.input_topics)}, group {kafka.group_id}, "
        f"dead letters {kafka.dead_letter_topic}"
    )
    traces = config.core.traces
    if traces.enabled:
        span_days = traces.span_retention_days
        map_days = traces.service_map_retention_days
        lines.append(
            f"traces: topics {', '.join(traces.input_topics)} -> "
            f"{traces.span_index_prefix}-YYYY.MM.DD (retention "
            f"{'never' if span_days is None else f'{span_days} days'}), service map "
            f"{traces.service_map_index}"
            + ("" if map_days is None else f"-YYYY.MM.DD (retention {map_days} days)")
        )
    else:
        lines.append("traces: off")
    lines.append(f"opensearch: {_store(config)}")
    if store.url is not None and store.username:
        lines[-1] += f" (user {store.username}, password ***)"
    lines.append(f"metrics: {config.metrics.address}:{config.metrics.port or '(any free port)'}")
    return lines


def _route(route: Route) -> str:
    retention = "never" if route.retention_days is None else f"{route.retention_days} days"
    pattern = route.filter_pattern.text or "(every event)"
    return (
        f"{route.name}: {', '.join(route.log_groups)} -> {route.index_prefix}-YYYY.MM.DD, "
        f"retention {retention}, filter {pattern}"
    )


def _store(config: ServiceConfig) -> str:
    store = config.opensearch
    if store.url is None:
        return "none (cwlpipe process writes bulk NDJSON; cwlpipe run needs opensearch.url)"
    signed = f", SigV4 {store.aws_service} {store.aws_region}" if store.aws_region else ""
    return mask_url(store.url) + signed
