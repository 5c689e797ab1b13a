"""A bounded ring of messages waiting for the broker.

Transitions and button presses made while offline wait here, in order, with
the time they happened. When the ring is full the oldest is dropped and
counted: a board must never run out of RAM because a broker is away for a
week.

The ring is one preallocated array of 64-bit integers, four per message:
kind, flag and seq packed together, then ts_ms (-1 for None), uptime_ms and
value. A tuple per message would cost a heap block of its own (and on the
ESP32 a boxed integer for each time), and pushing would allocate. Anything
that is not such an event (an ack, which carries text) is kept as it came, in
a small dict by slot.
"""

from array import array

from sitless.compat import const

_CAPACITY = const(32)
_WIDTH = const(4)  # integers per slot
KINDS = ("", "occupancy", "button")  # index 0: the slot's item is kept as it came


class Outbox:
    """The ring of messages waiting for the broker."""

    def __init__(self, capacity=_CAPACITY):
        self._rows = array("q", bytes(8 * _WIDTH * capacity))
        self._kept = {}  # slot: an item that is not an occupancy or button event
        self._capacity = capacity
        self._head = 0
        self._count = 0
        self.dropped = 0

    def __len__(self):
        return self._count

    def push(self, item):
        """Add an event tuple (kind, flag, seq, ts_ms, uptime_ms, value), or any other item."""
        if self._count == self._capacity:
            self._drop()
            self.dropped += 1
        slot = (self._head + self._count) % self._capacity
        at = slot * _WIDTH
        rows = self._rows
        kind = KINDS.index(item[0]) if isinstance(item, tuple) and item[0] in KINDS else 0
        if kind:
            rows[at] = item[2] << 3 | kind << 1 | (1 if item[1] else 0)
            rows[at + 1] = -1 if item[3] is None else item[3]
            rows[at + 2] = item[4]
            rows[at + 3] = item[5]
        else:
            rows[at] = 0
            self._kept[slot] = item
        self._count += 1

    def peek(self):
        """The oldest item (an event comes back as an equal, new tuple), or None."""
        if not self._count:
            return None
        at = self._head * _WIDTH
        rows = self._rows
        head = rows[at]
        if not head:
            return self._kept[self._head]
        ts_ms = rows[at + 1]
        return (
            KINDS[head >> 1 & 3],
            head & 1 == 1,
            head >> 3,
            None if ts_ms < 0 else ts_ms,
            rows[at + 2],
            rows[at + 3],
        )

    def pop(self, item=None):
        """Remove the oldest; with `item`, only if that is still the oldest.

        (It may have been dropped meanwhile.)
        """
        out = self.peek()
        if out is None or (item is not None and item != out):
            return None
        self._drop()
        return out

    def _drop(self):
        if not self._rows[self._head * _WIDTH]:
            del self._kept[self._head]
        self._head = (self._head + 1) % self._capacity
        self._count -= 1
