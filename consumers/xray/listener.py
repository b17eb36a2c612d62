"""A UDP listener speaking the X-Ray daemon's protocol, publishing to the trace topic.

AWS X-Ray SDKs and the OpenTelemetry collector's X-Ray exporter send each
segment document as one datagram, ``{"format": "json", "version": 1}\\n<segment>``,
to UDP 127.0.0.1:2000 (or ``AWS_XRAY_DAEMON_ADDRESS``). Listening there puts
the pipeline where they already send. A datagram whose header
:func:`pipeline.traces.split_daemon_packet` accepts is published as received:
the trace pipeline's core reads whole datagrams as record values.

What cannot be published is counted and logged, never dead-lettered: UDP
cannot be dead-lettered meaningfully, because the sender never hears back
and nothing in a datagram identifies the application that sent it. The
books (:class:`~consumers.xray.accounting.Books`) balance instead:
``received == published + dropped (by reason) + in hand``.

- Too large: over :data:`~pipeline.traces.MAX_DATAGRAM_BYTES`. asyncio reads
  a datagram with a 256 KiB buffer, so an oversized one arrives whole and is
  recognised rather than truncated into a document that merely fails to parse
  downstream. (UDP over IPv4 carries at most 65,507 bytes, so only IPv6
  jumbograms can reach this; the bound is the X-Ray daemon's all the same.)
- Bad header: not the daemon protocol's header line (the reason is logged).
- Queue full: Kafka is slow or away and :class:`~consumers.xray.queue.ByteQueue`
  holds its bound; the newest datagram is dropped, since UDP offers no way to
  slow the sender and an unbounded buffer would only move the loss to the
  out-of-memory killer.
- Refused by Kafka: a send the broker refuses for good (retrying cannot help).
- Unsent at shutdown: not acknowledged by the shutdown deadline.

Kafka down at start-up is waited for while datagrams queue within the bound;
:mod:`consumers.xray.publisher` sends them in batches. Losses in the kernel
(a full socket receive buffer) happen before anything here sees a datagram
and are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from consumers.prometheus.server import MetricsServer
from consumers.runtime.errors import describe
from consumers.runtime.reach import is_loopback
from consumers.runtime.retry import RetryPolicy, StopSignal
from consumers.runtime.startup import StartupError
from consumers.xray.accounting import (
    BAD_HEADER,
    QUEUE_FULL,
    TOO_LARGE,
    UNSENT,
    Books,
    DropLog,
    registry_for,
)
from consumers.xray.publisher import BatchPublisher, Producer
from consumers.xray.queue import ByteQueue
from pipeline.traces import MAX_DATAGRAM_BYTES, TraceError, split_daemon_packet

__all__ = ["DEFAULT_PORT", "ListenerSettings", "Producer", "XRayListener", "is_loopback"]

log = logging.getLogger("cwlpipe")

DEFAULT_PORT = 2000  # the X-Ray daemon's; SDKs send here unless told otherwise
#: what closing the producer may take of the shutdown deadline, at most
CLOSE_STEP_S = 2.0


@dataclass(frozen=True, slots=True)
class ListenerSettings:
    host: str
    port: int
    topic: str
    #: for log lines only: which brokers are waited for
    brokers: str = ""
    max_queue_bytes: int = 8 << 20
    shutdown_deadline_s: float = 30.0
    max_datagram_bytes: int = MAX_DATAGRAM_BYTES
    batch_records: int = 500
    batch_bytes: int = 1 << 20
    policy: RetryPolicy = field(default_factory=lambda: RetryPolicy(0.5, 10.0))


class XRayListener:
    """``start()`` binds, ``run()`` publishes until a stop is requested and flushes,
    ``stop()`` closes; ``serve()`` does all three. Usable without sockets in tests:
    :meth:`accept` is what the UDP protocol calls for each datagram."""

    def __init__(
        self,
        settings: ListenerSettings,
        make_producer: Callable[[], Producer],
        *,
        metrics_port: int | None = None,
        metrics_address: str = "127.0.0.1",
        drop_log: DropLog | None = None,
    ) -> None:
        self.settings = settings
        self.books = Books()
        self.queue = ByteQueue(settings.max_queue_bytes)
        self.stop_signal = StopSignal()
        self.drop_log = drop_log or DropLog(log)
        self.registry = registry_for(self.books, lambda: self.queue.charged, self.queue.max_bytes)
        self.server = (
            None
            if metrics_port is None
            else MetricsServer(self.registry, metrics_address, metrics_port, ready=self.ready)
        )
        self.publisher = BatchPublisher(
            self.queue,
            self.books,
            self._drop,
            make_producer,
            topic=settings.topic,
            brokers=settings.brokers,
            stop=self.stop_signal,
            policy=settings.policy,
            batch_records=settings.batch_records,
            batch_bytes=settings.batch_bytes,
        )
        self.address: tuple[str, int] | None = None
        self._transport: asyncio.DatagramTransport | None = None
        self._stopping = asyncio.Event()
        self._hurried = asyncio.Event()
        self._began = time.monotonic()

    # -- receiving ---------------------------------------------------------------------------

    def accept(self, data: bytes, source: str = "?") -> None:
        """One datagram: queued for Kafka, or dropped and counted with its reason."""
        self.books.received += 1
        limit = self.settings.max_datagram_bytes
        if len(data) > limit:
            self._drop(TOO_LARGE, f"{len(data)} bytes from {source}, over the {limit} byte limit")
            return
        try:
            split_daemon_packet(data)
        except TraceError as error:
            self._drop(BAD_HEADER, f"from {source}: {error}")
            return
        if self.queue.closed:
            self._drop(UNSENT, f"{len(data)} bytes from {source} after the stop")
        elif not self.queue.put(data):
            self._drop(
                QUEUE_FULL,
                f"{len(data)} bytes from {source}: {self.queue.charged} of "
                f"{self.queue.max_bytes} bytes already wait for Kafka",
            )

    def _drop(self, reason: str, detail: str, count: int = 1) -> None:
        self.books.dropped[reason] += count
        self.drop_log.dropped(reason, detail, count)

    # -- lifecycle ---------------------------------------------------------------------------

    def ready(self) -> bool:
        """Publishing: Kafka answered and no stop was requested."""
        return self.publisher.producer is not None and not self.stop_signal.requested

    def request_stop(self) -> None:
        """Stop receiving; what is queued gets ``shutdown_deadline_s``; a second request: now."""
        if self.stop_signal.requested:
            log.warning("second stop request: stopping now")
            self.stop_signal.hurry()
            self._hurried.set()
            return
        log.info(
            "stopping: %d datagrams queued get at most %.0f s (signal again to stop now)",
            len(self.queue) + self.publisher.in_flight,
            self.settings.shutdown_deadline_s,
        )
        self.stop_signal.request(self.settings.shutdown_deadline_s)
        self._stopping.set()

    def install_signal_handlers(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, self.request_stop)

    async def start(self) -> None:
        """The metrics endpoint, then the UDP socket; :class:`StartupError` when one is taken."""
        s = self.settings
        if self.server is not None:
            try:
                await self.server.start()
            except OSError as error:
                raise StartupError(
                    f"cannot serve metrics on {self.server.address}:{self.server.port}: "
                    f"{error.strerror or error}"
                ) from error
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), local_addr=(s.host, s.port)
            )
        except OSError as error:
            if self.server is not None:
                await self.server.stop()
            raise StartupError(
                f"cannot listen on UDP {s.host}:{s.port}: {error.strerror or error}"
            ) from error
        self._transport = transport
        bound = transport.get_extra_info("sockname")
        self.address = (str(bound[0]), int(bound[1]))
        log.info(
            "cwlpipe xray-listen: UDP %s:%d -> Kafka (%s) topic %s, queue bound %d bytes%s",
            *self.address,
            s.brokers,
            s.topic,
            self.queue.max_bytes,
            f", metrics {self.server.url}" if self.server else "",
        )
        if not is_loopback(s.host):
            log.warning(
                "UDP %s is not a loopback address: anyone who reaches it can write to %s "
                "(the protocol has no authentication)",
                s.host,
                s.topic,
            )

    async def run(self) -> None:
        """Publish until a stop is requested, then flush what is queued within the deadline."""
        sender = asyncio.create_task(self.publisher.run(), name="xray-publish")
        stopping = asyncio.create_task(self._stopping.wait())
        try:
            await asyncio.wait({sender, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if sender.done() and not self.stop_signal.requested:
                sender.result()  # a refusal for good at start-up, or a bug: say it
                return
            self._stop_receiving()
            await self._flush(sender)
        finally:
            stopping.cancel()
            if not sender.done():
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender
            self.publisher.settle_unsent()

    async def _flush(self, sender: asyncio.Task[None]) -> None:
        close_s = min(CLOSE_STEP_S, self.settings.shutdown_deadline_s / 4)
        left = self.stop_signal.remaining() - close_s
        if left > 0:
            hurried = asyncio.create_task(self._hurried.wait())
            await asyncio.wait({sender, hurried}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            hurried.cancel()
        if sender.done():
            sender.result()
        else:
            log.warning("shutdown deadline reached with datagrams not acknowledged by Kafka")

    async def stop(self) -> None:
        """Close everything, each step bounded by what is left of the deadline."""
        self._stop_receiving()
        await self.publisher.close(max(0.5, min(CLOSE_STEP_S, self.stop_signal.remaining())))
        if self.server is not None:
            await self.server.stop()
        if self.address is not None:  # never listened: nothing to report
            log.info("stopped after %.0f s", time.monotonic() - self._began)

    async def serve(self) -> None:
        try:
            await self.start()
            await self.run()
        finally:
            await self.stop()

    def _stop_receiving(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        self.queue.close()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, listener: XRayListener) -> None:
        self.listener = listener

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.listener.accept(data, f"{addr[0]}:{addr[1]}")

    def error_received(self, exc: Exception) -> None:
        # a receiving socket sees these only for ICMP errors of its own (unused) sends
        log.debug("UDP socket error: %s", describe(exc))
