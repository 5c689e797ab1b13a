"""A bounded ring of messages waiting for the broker.

Transitions and button presses made while offline wait here, in order, with
the time they happened already encoded. When the ring is full the oldest is
dropped and counted: a board must never run out of RAM because a broker is
away for a week.
"""

from sitless.compat import const

CAPACITY = const(32)


class Outbox:
    def __init__(self, capacity=CAPACITY):
        self._items = [None] * capacity
        self._capacity = capacity
        self._head = 0
        self._count = 0
        self.dropped = 0

    def __len__(self):
        return self._count

    def push(self, item):
        if self._count == self._capacity:
            self._items[self._head] = None
            self._head = (self._head + 1) % self._capacity
            self._count -= 1
            self.dropped += 1
        self._items[(self._head + self._count) % self._capacity] = item
        self._count += 1

    def peek(self):
        return self._items[self._head] if self._count else None

    def pop(self, item=None):
        """Remove the oldest; with `item`, only if it is still the oldest (it may have been dropped)."""
        if not self._count or (item is not None and self._items[self._head] is not item):
            return None
        out = self._items[self._head]
        self._items[self._head] = None
        self._head = (self._head + 1) % self._capacity
        self._count -= 1
        return out
