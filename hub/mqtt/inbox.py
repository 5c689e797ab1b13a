"""The bounded queue between the network thread and the owner thread, and what travels on it.

A plain ``queue.Queue`` takes its lock and wakes its reader once per item;
at tens of thousands of messages a second that is a measurable cost. This
inbox moves a whole chunk of messages in under one lock, both ways, with
nothing but a deque and a condition of its own.
"""

from __future__ import annotations

import collections
import queue
import threading
import time
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class Inbound(NamedTuple):
    """One message as it came off the wire, with the hub's receive time.

    ``mid`` and ``qos`` are what its acknowledgement needs; ``link`` names the
    connection it came on, because an acknowledgement is only meaningful on
    that connection (after a reconnect the broker sends it again anyway). A
    named tuple because tens of thousands are made a second.
    """

    topic: str
    payload: bytes
    retain: bool
    received: float
    mid: int = 0
    qos: int = 0
    link: int = 0


class Inbox(Generic[T]):
    """A bounded FIFO that takes and gives many items under one lock.

    ``put_nowait`` and ``get`` raise ``queue.Full`` and ``queue.Empty`` like
    a ``queue.Queue``, so code written against either reads the same.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition(threading.Lock())

    def qsize(self) -> int:
        """How many items wait."""
        return len(self._items)

    def put_nowait(self, item: T) -> None:
        """Add one item, or raise ``queue.Full``."""
        if self.put_many([item]) == 0:
            raise queue.Full

    def put_many(self, items: list[T]) -> int:
        """Add as many of ``items`` as fit, in order; how many were taken."""
        with self._cond:
            room = self.maxsize - len(self._items) if self.maxsize > 0 else len(items)
            taken = items if room >= len(items) else items[: max(0, room)]
            if taken:
                self._items.extend(taken)
                self._cond.notify()
            return len(taken)

    def get(self, timeout: float | None = None) -> T:
        """The oldest item, waiting up to ``timeout`` seconds; ``queue.Empty`` if none came."""
        with self._cond:
            if not self._items:
                deadline = None if timeout is None else time.monotonic() + timeout
                while not self._items:
                    left = None if deadline is None else deadline - time.monotonic()
                    if left is not None and left <= 0:
                        raise queue.Empty
                    self._cond.wait(left)
            return self._items.popleft()

    def take(self, limit: int) -> list[T]:
        """Up to ``limit`` waiting items at once, oldest first; never waits."""
        with self._cond:
            items = self._items
            count = min(len(items), limit)
            if count <= 0:
                return []
            popleft = items.popleft
            return [popleft() for _ in range(count)]
