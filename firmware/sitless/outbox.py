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

On the board the outbox also has a part in flash (`path`, see
`sitless.spool`): events made while the broker is away, and those still in
RAM when the link is lost, are stored there, so they survive a reboot and a
power cut; they are sent before anything in RAM, oldest first, each with the
boot id it was made under.
"""

from array import array

from sitless import call
from sitless.compat import const

_CAPACITY = const(32)
_SLOTS = const(512)  # events kept in flash: a working day offline (see firmware/README.md)
_WIDTH = const(4)  # integers per slot
KINDS = ("", "occupancy", "button")  # index 0: the slot's item is kept as it came


class Outbox:
    """The ring of messages waiting for the broker, and with `path` its part in flash."""

    KINDS = KINDS

    def __init__(self, capacity=_CAPACITY, path=None, slots=_SLOTS):
        self._rows = array("q", bytes(8 * _WIDTH * capacity))
        self._kept = {}  # slot: an item that is not an occupancy or button event
        self._capacity = capacity
        self._head = 0
        self._count = 0
        self.dropped = 0
        # The flash part (`sitless.spool`): records `sent` to `next` wait there, in order.
        self.path = path
        self.slots = slots
        self.next = self.sent = 0
        if path is not None:
            call("spool", "start", self)

    def __len__(self):
        return self._count + self.next - self.sent

    def kind(self, item):
        """1 for an occupancy event, 2 for a button event, 0 for anything else (an ack)."""
        return KINDS.index(item[0]) if isinstance(item, tuple) and item[0] in KINDS else 0

    def push(self, item, boot=None):
        """Add an event tuple (kind, flag, seq, ts_ms, uptime_ms, value), or any other item.

        With `boot` (the broker is away) an event goes to flash, where it
        survives a power cut; anything else, or without a flash part, to RAM.
        """
        kind = self.kind(item)
        if boot is not None and kind and self.path is not None:
            call("spool", "append", self, item, boot)
            return
        if self._count == self._capacity:
            self.ram_drop()
            self.dropped += 1
        slot = (self._head + self._count) % self._capacity
        at = slot * _WIDTH
        rows = self._rows
        if kind:
            rows[at] = item[2] << 3 | kind << 1 | (1 if item[1] else 0)
            rows[at + 1] = -1 if item[3] is None else item[3]
            rows[at + 2] = item[4]
            rows[at + 3] = item[5]
        else:
            rows[at] = 0
            self._kept[slot] = item
        self._count += 1

    def spill(self, boot):
        """The link is lost: the events waiting in RAM go to flash, in order, ahead of new ones."""
        if self.path is not None and self._count:
            call("spool", "spill", self, boot)

    def peek(self):
        """The oldest item, from flash first (an event comes back as an equal, new tuple).

        A stored event has its boot id as a seventh element; None when empty.
        """
        if self.sent < self.next:
            item = call("spool", "peek", self)
            if item is not None:
                return item
        return self.ram_peek()

    def pop(self, item=None):
        """Remove the oldest; with `item`, only if that is still the oldest.

        (It may have been dropped meanwhile.)
        """
        out = self.peek()
        if out is None or (item is not None and item != out):
            return None
        if self.sent < self.next:  # `peek` found it in flash
            call("spool", "sent", self)
        else:
            self.ram_drop()
        return out

    def ram_peek(self):
        """The oldest item in RAM, or None."""
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

    def ram_drop(self):
        """Forget the oldest item in RAM."""
        if not self._rows[self._head * _WIDTH]:
            del self._kept[self._head]
        self._head = (self._head + 1) % self._capacity
        self._count -= 1
