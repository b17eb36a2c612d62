"""The listener's books: every datagram received is published, dropped for a reason, or in hand.

UDP cannot be dead-lettered meaningfully: the sender never hears back and
nothing in a datagram says who sent it, so a drop is only counted (by a
fixed set of reasons, so the metric's labels stay bounded) and logged. The
log is rate-limited per reason, because a misconfigured SDK sends the same
bad datagram many times a second and one line per datagram would bury the
rest of the log.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

__all__ = [
    "BAD_HEADER",
    "QUEUE_FULL",
    "REASONS",
    "REFUSED",
    "TOO_LARGE",
    "UNSENT",
    "Books",
    "DropLog",
    "registry_for",
]

TOO_LARGE = "too large"
BAD_HEADER = "bad header"
QUEUE_FULL = "queue full"
REFUSED = "refused by Kafka"
UNSENT = "unsent at shutdown"
#: every reason, exported from the start (a rate over a series that appears late misses its start)
REASONS = (TOO_LARGE, BAD_HEADER, QUEUE_FULL, REFUSED, UNSENT)


class DropLog:
    """One line per reason at most every ``window_s``, saying how many were held back."""

    def __init__(
        self,
        logger: logging.Logger,
        window_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.window_s = window_s
        self.clock = clock
        self._last: dict[str, float] = {}
        self._held: Counter[str] = Counter()

    def dropped(self, reason: str, detail: str, count: int = 1) -> bool:
        """Log this drop (of ``count`` datagrams) unless one of the same reason was logged
        within the window."""
        now = self.clock()
        last = self._last.get(reason)
        if last is not None and now - last < self.window_s:
            self._held[reason] += count
            return False
        held = self._held.pop(reason, 0)
        since = now - (now if last is None else last)
        more = f" (and {held} more in the last {since:.0f} s)" if held else ""
        what = "a datagram" if count == 1 else f"{count} datagrams"
        self.logger.warning("dropped %s (%s): %s%s", what, reason, detail, more)
        self._last[reason] = now
        return True


@dataclass
class Books:
    """Counts of datagrams; ``received == published + dropped + in hand`` at every await."""

    received: int = 0
    published: int = 0
    dropped: Counter[str] = field(default_factory=Counter)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    def summary(self) -> str:
        reasons = ", ".join(f"{n} {r}" for r, n in sorted(self.dropped.items()) if n)
        return (
            f"{self.received} datagrams received, {self.published} published, "
            f"{self.dropped_total} dropped" + (f" ({reasons})" if reasons else "")
        )


class _BooksCollector(Collector):
    """Reads the books at scrape time: one set of numbers, never two that can disagree."""

    def __init__(self, books: Books, queued_bytes: Callable[[], int], limit_bytes: int) -> None:
        self.books = books
        self.queued_bytes = queued_bytes
        self.limit_bytes = limit_bytes

    def collect(self) -> Iterator[Metric]:
        books = self.books
        yield CounterMetricFamily(
            "cwlpipe_xray_datagrams_received", "UDP datagrams received", value=books.received
        )
        yield CounterMetricFamily(
            "cwlpipe_xray_datagrams_published",
            "Datagrams acknowledged by Kafka on the trace topic",
            value=books.published,
        )
        dropped = CounterMetricFamily(
            "cwlpipe_xray_datagrams_dropped",
            "Datagrams dropped, by reason (UDP has no dead letters: nobody hears back)",
            labels=["reason"],
        )
        for reason in REASONS:
            dropped.add_metric([reason], books.dropped[reason])
        yield dropped
        yield GaugeMetricFamily(
            "cwlpipe_xray_queue_bytes",
            "Bytes of datagrams not yet acknowledged by Kafka (waiting or in flight)",
            value=self.queued_bytes(),
        )
        yield GaugeMetricFamily(
            "cwlpipe_xray_queue_limit_bytes",
            "The queue's bound; datagrams beyond it are dropped as 'queue full'",
            value=self.limit_bytes,
        )


def registry_for(
    books: Books, queued_bytes: Callable[[], int], limit_bytes: int
) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_BooksCollector(books, queued_bytes, limit_bytes))
    return registry
