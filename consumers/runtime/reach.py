"""Can this host reach a server at all? One line of reason when it cannot.

Client libraries answer an unreachable bootstrap with their own wording
("Unable to bootstrap from [...]") and log the real cause separately; a
plain TCP connect says which address failed and why (does not resolve,
refused, no answer), which is what an operator needs first.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
from dataclasses import dataclass

__all__ = ["Check", "is_loopback", "split_address", "tcp_reach"]


@dataclass(frozen=True, slots=True)
class Check:
    """The outcome of one connectivity check, printed as one line."""

    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.ok else 'FAILED'}: {self.detail}"


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, ``[v6]`` or ``localhost``) is this machine only; a host
    name is not, as it may resolve to anything."""
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_address(address: str, default_port: int) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or a bare host; a port that is not a number is a ValueError."""
    address = address.strip()
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        port = rest.removeprefix(":")
        return host, int(port) if port else default_port
    host, colon, port = address.rpartition(":")
    if not colon:
        return address, default_port
    return host, int(port)


async def tcp_reach(address: str, default_port: int, timeout_s: float) -> str | None:
    """None when ``address`` accepts a TCP connection within ``timeout_s``, else why not."""
    try:
        host, port = split_address(address, default_port)
    except ValueError:
        return f"{address}: not host:port"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_s)
    except socket.gaierror as error:
        return f"{address}: does not resolve ({error.strerror})"
    except ConnectionRefusedError:
        return f"{address}: connection refused"
    except TimeoutError:
        return f"{address}: no answer within {timeout_s:g} s"
    except OSError as error:
        return f"{address}: {error.strerror or error}"
    writer.close()
    with contextlib.suppress(OSError):  # the far end may drop a connection it never wanted
        await writer.wait_closed()
    return None
