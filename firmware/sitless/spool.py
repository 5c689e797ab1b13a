"""The outbox's part in flash: events made while the broker is away, kept across a power cut.

Loaded by the outbox when it needs it (an event while offline, the link lost,
a stored event to send, the start) and dropped again, so its code takes no
RAM while the chair is simply online.

The file holds `slots` fixed records of 48 bytes, used as a ring: each record
is its number in the spool (counting up for ever), the event's kind, flag and
seq packed as in the outbox, its boot id, ts_ms, uptime_ms and value, and a
CRC-32 of all that. A second, tiny file holds the number of the next record
to send, written when one was acknowledged. So an event costs one record
write while offline and one small write when it has gone; at the start the
ring is read once to find where it ends. A record whose CRC or number does
not fit (a write the power cut interrupted) is skipped and counted as dropped.
"""

import binascii
import struct

_RECORD = "<IQ8sqqq"  # number, kind/flag/seq, boot, ts_ms, uptime_ms, value
_DATA = struct.calcsize(_RECORD)  # 44 bytes
_SIZE = _DATA + 4  # and its CRC-32


def _file(box):
    try:
        return open(box.path, "r+b")
    except OSError:
        with open(box.path, "wb") as f:
            f.write(bytes(_SIZE * box.slots))
        return open(box.path, "r+b")


def _read(f, slot):
    f.seek(slot * _SIZE)
    raw = f.read(_SIZE)
    if len(raw) != _SIZE or struct.unpack("<I", raw[_DATA:])[0] != binascii.crc32(raw[:_DATA]):
        return None
    return struct.unpack(_RECORD, raw[:_DATA])


def start(box):
    """Find the stored events: the next to send from the position file, the end by the ring."""
    try:
        with open(box.path + ".pos") as f:
            box.sent = int(f.read())
    except (OSError, ValueError):
        box.sent = 0
    end = box.sent
    try:
        with open(box.path, "rb") as f:
            for slot in range(box.slots):
                record = _read(f, slot)
                if record is not None and record[0] >= end:
                    end = record[0] + 1
    except OSError:
        pass
    box.next = end
    if end - box.sent > box.slots:  # cannot be: the ring holds no more
        box.sent = end - box.slots


def append(box, event, boot):
    """Store one event (an occupancy or button tuple) after the others; the oldest gives way."""
    packed = event[2] << 3 | box.kind(event) << 1 | (1 if event[1] else 0)
    data = struct.pack(
        _RECORD,
        box.next,
        packed,
        boot.encode(),
        -1 if event[3] is None else event[3],
        event[4],
        event[5],
    )
    with _file(box) as f:
        f.seek((box.next % box.slots) * _SIZE)
        f.write(data + struct.pack("<I", binascii.crc32(data)))
    box.next += 1
    if box.next - box.sent > box.slots:
        box.sent += 1
        box.dropped += 1


def peek(box):
    """The oldest stored event as (kind, flag, seq, ts_ms, uptime_ms, value, boot), or None."""
    while box.sent < box.next:
        try:
            with open(box.path, "rb") as f:
                record = _read(f, box.sent % box.slots)
        except OSError:
            record = None
        if record is not None and record[0] == box.sent:
            _, packed, boot, ts_ms, uptime_ms, value = record
            return (
                box.KINDS[packed >> 1 & 3],
                packed & 1 == 1,
                packed >> 3,
                None if ts_ms < 0 else ts_ms,
                uptime_ms,
                value,
                boot.rstrip(b"\x00").decode(),
            )
        box.sent += 1  # torn or overwritten: skipped, counted
        box.dropped += 1
    return None


def sent(box):
    """The oldest stored event went: remember that in the position file."""
    box.sent += 1
    with open(box.path + ".pos", "w") as f:
        f.write(str(box.sent))


def spill(box, boot):
    """Move the events waiting in the RAM ring to flash, in order; anything else stays."""
    items = []
    while box.ram_peek() is not None:
        items.append(box.ram_peek())
        box.ram_drop()
    for item in items:
        if box.kind(item):
            append(box, item, boot)
        else:
            box.push(item)
