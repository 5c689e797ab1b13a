"""What the broker answers the hub: CONNACK, SUBACK, PUBACK, DISCONNECT, as values.

The framing (``packets.read_packets``) hands these bodies over; nothing here
touches a socket, so every decoding can be checked byte for byte. Of the MQTT 5
properties an answer carries, the numeric and string ones are read; the rest
are skipped by their size.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.mqtt.packets import PROP_RECEIVE_MAXIMUM, PacketError, read_varint
from hub.mqtt.reasons import CONNACK_REASONS_V311, REASONS_V5

# MQTT 5 property identifiers the hub reads (and the receive maximum it also writes).
PROP_SERVER_KEEP_ALIVE = 0x13
PROP_REASON_STRING = 0x1F
PROP_MAXIMUM_PACKET_SIZE = 0x27

# Sizes of the fixed-size MQTT 5 properties; the rest are strings, binary or varints.
_FIXED_PROPERTY_SIZE = {
    0x01: 1,
    0x17: 1,
    0x19: 1,
    0x24: 1,
    0x25: 1,
    0x28: 1,
    0x29: 1,
    0x2A: 1,
    0x13: 2,
    0x21: 2,
    0x22: 2,
    0x23: 2,
    0x02: 4,
    0x11: 4,
    0x18: 4,
    0x27: 4,
}
_STRING_PROPERTIES = frozenset({0x03, 0x08, 0x09, 0x12, 0x15, 0x16, 0x1A, 0x1C, 0x1F})
_PAIR_PROPERTY = 0x26
_VARINT_PROPERTY = 0x0B

# CONNACK reason codes as a log line names them (the words other MQTT clients use too).
CONNACK_REASONS_V5 = REASONS_V5


def read_properties(body: bytes, pos: int) -> tuple[dict[int, int | str], int]:
    """MQTT 5 properties at ``pos``: the numeric and string ones by identifier, and the end.

    User properties, binary data and subscription identifiers are skipped:
    nothing the hub reads from a broker's acknowledgement needs them.
    """
    length, pos = read_varint(body, pos)
    end = pos + length
    if end > len(body):
        raise PacketError("properties longer than their packet")
    found: dict[int, int | str] = {}
    while pos < end:
        ident = body[pos]
        pos += 1
        size = _FIXED_PROPERTY_SIZE.get(ident)
        if size is not None:
            found[ident] = int.from_bytes(body[pos : pos + size], "big")
            pos += size
        elif ident in _STRING_PROPERTIES:
            n = int.from_bytes(body[pos : pos + 2], "big")
            if ident != 0x09 and ident != 0x16:  # noqa: PLR1714 - binary data stays unread
                found[ident] = body[pos + 2 : pos + 2 + n].decode("utf-8", "replace")
            pos += 2 + n
        elif ident == _PAIR_PROPERTY:
            for _ in range(2):
                pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
        elif ident == _VARINT_PROPERTY:
            _, pos = read_varint(body, pos)
        else:
            raise PacketError(f"unknown property 0x{ident:02x}")
    if pos != end:
        raise PacketError("a property runs past the end of its block")
    return found, end


@dataclass(frozen=True, slots=True)
class Connack:
    """What the broker said to our CONNECT."""

    session_present: bool
    reason: int
    receive_maximum: int = 65535
    server_keepalive: int | None = None
    reason_string: str | None = None
    maximum_packet_size: int | None = None  # the broker's; no packet of ours may be larger

    def why(self, *, v5: bool) -> str:
        """The refusal as words, for the log."""
        names = CONNACK_REASONS_V5 if v5 else CONNACK_REASONS_V311
        words = names.get(self.reason, f"reason code {self.reason}")
        return f"{words} ({self.reason_string})" if self.reason_string else words


def read_connack(body: bytes, *, v5: bool) -> Connack:
    """Decode a CONNACK body."""
    if len(body) < 2:
        raise PacketError("CONNACK shorter than two bytes")
    present, reason = (body[0] & 1) == 1, body[1]
    if not v5 or len(body) == 2:
        return Connack(present, reason)
    props, _ = read_properties(body, 2)
    keepalive = props.get(PROP_SERVER_KEEP_ALIVE)
    reason_string = props.get(PROP_REASON_STRING)
    largest = props.get(PROP_MAXIMUM_PACKET_SIZE)
    return Connack(
        present,
        reason,
        int(props.get(PROP_RECEIVE_MAXIMUM, 65535)),
        None if keepalive is None else int(keepalive),
        None if reason_string is None else str(reason_string),
        None if largest is None else int(largest),
    )


def read_suback(body: bytes, *, v5: bool) -> tuple[int, list[int]]:
    """Decode a SUBACK body: (packet id, one reason code per filter)."""
    if len(body) < 3:
        raise PacketError("SUBACK too short")
    mid = (body[0] << 8) | body[1]
    pos = read_properties(body, 2)[1] if v5 else 2
    return mid, list(body[pos:])


def read_puback(body: bytes) -> tuple[int, int]:
    """Decode a PUBACK body: (packet id, reason code; 0 when the short form omits it)."""
    if len(body) < 2:
        raise PacketError("PUBACK shorter than two bytes")
    return (body[0] << 8) | body[1], body[2] if len(body) > 2 else 0


def read_disconnect(body: bytes, *, v5: bool) -> tuple[int, str | None]:
    """Decode a broker's DISCONNECT (MQTT 5 only): (reason code, reason string)."""
    if not v5 or not body:
        return 0, None
    reason_string = None
    if len(body) > 1:
        props, _ = read_properties(body, 1)
        text = props.get(PROP_REASON_STRING)
        reason_string = None if text is None else str(text)
    return body[0], reason_string
