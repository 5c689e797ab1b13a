"""MQTT 3.1.1 and 5 packets: the few the hub sends, and the framing of what it reads.

Nothing here touches a socket, so every layout can be checked byte for byte.
The hub only ever subscribes and publishes with QoS 1 and never announces a
topic alias maximum, so a broker that follows the specification sends it no
QoS 2 flow and no topic aliases. Some do send QoS 2 anyway (aedes forwards a
QoS 2 publish at QoS 2 on a QoS 1 subscription), so the reader takes QoS 2
publishes, and ``pubrecs``/``pubcomp`` answer them.

``read_packets`` is the hot path of the hub's ingest: it walks a buffer of
many small publishes with plain indexing and slicing, one pass, no object
per packet beyond the tuple the caller needs. What the broker answers (CONNACK,
SUBACK, PUBACK, DISCONNECT and their MQTT 5 properties) is read in ``replies``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

CONNECT = 0x10
CONNACK = 0x20
PUBLISH = 0x30
PUBACK = 0x40
PUBREC = 0x50
PUBREL = 0x60
PUBCOMP = 0x70
SUBSCRIBE = 0x82  # the flags of SUBSCRIBE are fixed at 0b0010
SUBACK = 0x90
PINGREQ = 0xC0
PINGRESP = 0xD0
DISCONNECT = 0xE0

PINGREQ_PACKET = b"\xc0\x00"
DISCONNECT_PACKET = b"\xe0\x00"  # reason "normal" is implied by a zero length in MQTT 5

SUB_NO_LOCAL = 0x04  # subscription option: the broker does not send our own publishes back
DUP_FLAG = 0x08
MAX_REMAINING_LENGTH = 268_435_455  # four bytes of variable byte integer

# MQTT 5 property identifiers the hub writes (``replies`` has the ones it reads).
PROP_SESSION_EXPIRY = 0x11
PROP_RECEIVE_MAXIMUM = 0x21

_PUBACK = struct.Struct("!BBH")
_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class PacketError(ValueError):
    """The broker sent bytes that are not a packet this client can accept."""


def varint(value: int) -> bytes:
    """Encode a variable byte integer (remaining lengths, property lengths)."""
    if not 0 <= value <= MAX_REMAINING_LENGTH:
        raise PacketError(f"{value} does not fit a variable byte integer")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """Decode a variable byte integer at ``pos``: (value, position after it)."""
    value = 0
    for shift in (0, 7, 14, 21):
        if pos >= len(data):
            raise PacketError("truncated variable byte integer")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
    raise PacketError("variable byte integer longer than four bytes")


def utf8(text: str | bytes) -> bytes:
    """A length-prefixed string (or binary data) as MQTT writes it."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > 0xFFFF:
        raise PacketError("string longer than 65535 bytes")
    return _U16.pack(len(raw)) + raw


def packet(first: int, body: bytes) -> bytes:
    """Fixed header (type and flags, remaining length) followed by the body."""
    return bytes((first,)) + varint(len(body)) + body


@dataclass(frozen=True, slots=True)
class Will:
    """The message the broker publishes for us if the connection dies unannounced."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


def connect(  # noqa: PLR0913 - CONNECT's fields
    client_id: str,
    *,
    keepalive: int,
    v5: bool,
    clean_start: bool = False,
    session_expiry: int | None = None,
    receive_maximum: int | None = None,
    username: str | None = None,
    password: str | None = None,
    will: Will | None = None,
) -> bytes:
    """CONNECT for MQTT 5 (level 5, with properties) or 3.1.1 (level 4)."""
    flags = 0x02 if clean_start else 0
    payload = utf8(client_id)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += (b"\x00" if v5 else b"") + utf8(will.topic) + utf8(will.payload)
    if username is not None:
        flags |= 0x80
        payload += utf8(username)
    if password is not None:
        flags |= 0x40
        payload += utf8(password.encode())
    variable = b"\x00\x04MQTT" + bytes((5 if v5 else 4, flags)) + _U16.pack(keepalive)
    if v5:
        props = b""
        if session_expiry is not None:
            props += bytes((PROP_SESSION_EXPIRY,)) + _U32.pack(session_expiry)
        if receive_maximum is not None:
            props += bytes((PROP_RECEIVE_MAXIMUM,)) + _U16.pack(receive_maximum)
        variable += varint(len(props)) + props
    return packet(CONNECT, variable + payload)


def subscribe(mid: int, filters: list[tuple[str, int]], *, v5: bool) -> bytes:
    """SUBSCRIBE to (filter, options) pairs; options carry the QoS and, in MQTT 5, No Local."""
    body = _U16.pack(mid) + (b"\x00" if v5 else b"")
    for topic, options in filters:
        body += utf8(topic) + bytes((options,))
    return packet(SUBSCRIBE, body)


def publish(  # noqa: PLR0913 - PUBLISH's fields
    topic: str,
    payload: bytes,
    *,
    mid: int,
    qos: int = 1,
    retain: bool = False,
    dup: bool = False,
    v5: bool = True,
) -> bytes:
    """PUBLISH with QoS 0 or 1 (a packet id only for QoS 1), no MQTT 5 properties."""
    first = PUBLISH | (qos << 1) | (DUP_FLAG if dup else 0) | (1 if retain else 0)
    body = utf8(topic) + (_U16.pack(mid) if qos else b"") + (b"\x00" if v5 else b"") + payload
    return packet(first, body)


def with_dup(encoded: bytes) -> bytes:
    """The same PUBLISH marked as a redelivery (sent again after a reconnect)."""
    return bytes((encoded[0] | DUP_FLAG,)) + encoded[1:]


def puback(mid: int) -> bytes:
    """PUBACK with success: the short form both versions accept."""
    return _PUBACK.pack(PUBACK, 2, mid)


def pubacks(mids: list[int]) -> bytes:
    """Several PUBACKs back to back, for one write."""
    pack = _PUBACK.pack
    return b"".join([pack(PUBACK, 2, mid) for mid in mids])


def pubrecs(mids: list[int]) -> bytes:
    """PUBREC for QoS 2 messages, as PUBACK is for QoS 1: "received, keep it no longer"."""
    pack = _PUBACK.pack
    return b"".join([pack(PUBREC, 2, mid) for mid in mids])


def pubcomp(mid: int) -> bytes:
    """PUBCOMP, the answer to a broker's PUBREL: the end of a QoS 2 exchange."""
    return _PUBACK.pack(PUBCOMP, 2, mid)


# ---- reading ------------------------------------------------------------------------

# A publish as the transport needs it: (topic, payload, retain, packet id, qos).
Publish = tuple[str, bytes, bool, int, int]
# Any other packet: (first byte, body).
Other = tuple[int, bytes]


def read_packets(data: bytes, *, v5: bool) -> tuple[list[Publish], list[Other], int, int]:
    """Every complete packet in ``data``: (publishes, others, bytes used, bytes needed).

    ``bytes needed`` is the full length of the incomplete packet at the end
    when its header is complete (so a caller can wait for all of it before
    parsing again), else 0. A publish whose own fields run past its length
    is a ``PacketError``, like any other malformed packet.
    """
    try:
        return _read_packets(data, v5=v5)
    except IndexError as exc:
        raise PacketError("a publish runs past its own length") from exc


def _read_packets(  # noqa: C901, PLR0912, PLR0915 - one flat loop is the fast one
    data: bytes,
    *,
    v5: bool,
) -> tuple[list[Publish], list[Other], int, int]:
    publishes: list[Publish] = []
    others: list[Other] = []
    end = len(data)
    pos = 0
    need = 0
    while pos + 2 <= end:
        first = data[pos]
        byte = data[pos + 1]
        if byte < 0x80:
            start = pos + 2
            stop = start + byte
        else:
            length = byte & 0x7F
            start = pos + 2
            shift = 7
            while True:
                if start >= end:
                    return publishes, others, pos, 0
                if shift > 21:
                    raise PacketError("remaining length longer than four bytes")
                byte = data[start]
                start += 1
                length |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
            stop = start + length
        if stop > end:
            need = stop - pos
            break
        if first & 0xF0 == PUBLISH:
            qos = (first >> 1) & 3
            at = start + 2 + ((data[start] << 8) | data[start + 1])
            topic = data[start + 2 : at].decode("utf-8", "replace")
            if qos == 1:
                mid = (data[at] << 8) | data[at + 1]
                at += 2
            elif qos == 0:
                mid = 0
            elif qos == 2:  # a broker that does not downgrade to the subscription's QoS
                mid = (data[at] << 8) | data[at + 1]
                at += 2
            else:
                raise PacketError("publish with QoS 3")
            if v5:
                byte = data[at]
                if byte < 0x80:
                    at += 1 + byte
                else:
                    length, at = read_varint(data, at)
                    at += length
            if at > stop:
                raise PacketError("publish shorter than its header")
            publishes.append((topic, data[at:stop], (first & 1) == 1, mid, qos))
        else:
            others.append((first, data[start:stop]))
        pos = stop
    return publishes, others, pos, need
