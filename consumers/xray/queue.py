"""Datagrams waiting for Kafka, bounded in bytes until Kafka acknowledges them.

UDP gives no way to slow a sender down, so when Kafka is slow or away the
only choices are to grow or to drop; this queue drops (the caller counts it).
Bytes stay charged from :meth:`ByteQueue.put` until :meth:`ByteQueue.release`,
through the time a batch is in the producer's hands, so the bound covers
everything the listener holds, not only what waits its turn.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable

__all__ = ["ByteQueue"]


class ByteQueue:
    def __init__(self, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be > 0, got {max_bytes}")
        self.max_bytes = max_bytes
        self.charged = 0  # bytes waiting plus bytes taken and not yet released
        self._items: deque[bytes] = deque()
        self._changed = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        """Datagrams waiting (not those taken and in flight)."""
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    def put(self, data: bytes) -> bool:
        """Queue ``data``; False (nothing queued) when it would pass the bound or after close."""
        if self._closed or self.charged + len(data) > self.max_bytes:
            return False
        self._items.append(data)
        self.charged += len(data)
        self._changed.set()
        return True

    def take(self, max_items: int, max_bytes: int) -> list[bytes]:
        """The oldest datagrams, up to ``max_items`` and ``max_bytes`` (at least one when any
        waits); they stay charged until released or given back."""
        batch: list[bytes] = []
        size = 0
        while self._items and len(batch) < max_items:
            if batch and size + len(self._items[0]) > max_bytes:
                break
            item = self._items.popleft()
            batch.append(item)
            size += len(item)
        return batch

    def give_back(self, items: Iterable[bytes]) -> None:
        """Put taken datagrams back at the head, in order: they are sent again before newer ones."""
        self._items.extendleft(reversed(list(items)))
        if self._items:
            self._changed.set()

    def release(self, size: int) -> None:
        """``size`` bytes of taken datagrams are done with (acknowledged or dropped)."""
        self.charged = max(0, self.charged - size)

    def drain(self) -> list[bytes]:
        """Everything still waiting, removed and released (for the shutdown's books)."""
        items = list(self._items)
        self._items.clear()
        self.release(sum(map(len, items)))
        return items

    def close(self) -> None:
        """No more puts; a waiting :meth:`wait` returns so the sender can finish the rest."""
        self._closed = True
        self._changed.set()

    async def wait(self) -> None:
        """Until something waits or the queue is closed."""
        while not self._items and not self._closed:
            self._changed.clear()
            await self._changed.wait()
