"""A small non-blocking MQTT 3.1.1 client on asyncio streams.

Written for this firmware because the frozen `umqtt.simple` blocks and never
pings. What it does: connects with a last will, pings when it has sent nothing
for half the keepalive, treats a broker it has heard nothing from for a whole
keepalive as dead and closes that socket itself, and keeps every QoS 1 publish
until its PUBACK arrives, resending the unacknowledged ones (DUP set) after a
reconnect. It runs no task: its owner calls `step` often. It publishes at
QoS 0 and 1 only; a message a broker delivers at QoS 2 is answered as QoS 2
asks (PUBREC, then PUBCOMP for the broker's PUBREL) and handed on once, even
when the broker sends it again before its PUBREL. Packet builders are plain
functions so the tests can compare them byte for byte. The socket is the
client's own (non-blocking); asyncio's public stream wraps it for the waits.

This module is the running connection; the handshake (CONNECT and CONNACK,
the resend), SUBSCRIBE and a clean DISCONNECT are needed once per connection
and live in `sitless.link`, which is loaded for them and dropped again.
"""

import asyncio
from time import ticks_ms

from sitless.compat import const, ticks_diff

_MAX_PACKET = const(8192)
_MAX_PENDING = const(16)

PINGREQ = b"\xc0\x00"


def text(value):
    if isinstance(value, str):
        value = value.encode()
    return len(value).to_bytes(2, "big") + value


def packet(first, body):
    """The fixed header (type and flags, then the remaining length in 7-bit groups) and `body`."""
    out = bytearray((first,))
    n = len(body)
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out) + body


def publish_packet(topic, message, qos=0, retain=False, pid=0, dup=False):
    if isinstance(message, str):
        message = message.encode()
    first = 0x30 | (qos << 1) | (1 if retain else 0) | (0x08 if dup else 0)
    body = text(topic)
    if qos:
        body += pid.to_bytes(2, "big")
    return packet(first, body + message)


class MQTTClient:
    """One connection at a time; `sitless.link.handshake` opens it (again once it is down).

    It has no task of its own: the owner calls `step` every few milliseconds
    while `connected` (the app's network task does, between its sends) and
    awaits what it returns, which handles what came and keeps the link alive.
    `on_message(topic, payload, retained)` is called from there for every
    PUBLISH received; it must not block. `why_down` says why the last
    connection ended.
    """

    def __init__(
        self,
        client_id,
        host,
        port=1883,
        user=None,
        password=None,
        keepalive=30,
        will=None,
        on_message=None,
    ):
        self.client_id = client_id
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.keepalive = keepalive
        self.will = will
        self.on_message = on_message
        # pid: the PUBLISH packet as sent, QoS 1 without PUBACK yet (the packet rather than
        # its parts: one object per message in flight instead of three and a tuple).
        self.pending = {}
        # The ids (2 bytes each) of QoS 2 messages handed on whose PUBREL has not come yet: a
        # resend of one of them is answered but not handed on again. The session is clean at
        # each connect, so the handshake forgets them.
        self.received = []
        self.why_down = "not connected"
        self.connected = False  # a plain attribute, kept with `_stream`: no property to keep
        self.pid = 0  # the last packet id used
        self._stream = None  # asyncio's stream over `_sock`, for the waits (drain, readexactly)
        self._sock = None  # the non-blocking socket itself: looked at directly by `step`
        self._last_rx = 0
        self._last_tx = 0

    async def send(self, packet):
        stream = self._stream
        if stream is None:
            raise OSError("not connected")
        try:
            stream.write(packet)  # straight to the socket when it takes it all, as it mostly does
            # (`link` opens the stream: the checker sees only the None set here.)
            await stream.drain()  # pyright: ignore[reportGeneralTypeIssues]
        except Exception as exc:  # noqa: BLE001 - any socket failure ends this connection
            self.close("send failed: %r" % (exc,))
            raise OSError("send failed") from None
        self._last_tx = ticks_ms()

    def close(self, why="closed"):
        """Close the socket now, without DISCONNECT (the broker will send the last will)."""
        sock = self._sock
        if sock is None:
            return
        self._stream = self._sock = None
        self.connected = False
        self.why_down = why
        try:
            sock.close()
        except Exception:  # noqa: BLE001, S110 - closing a dead socket may fail; it is gone either way
            pass

    async def publish(self, topic, message, retain=False, qos=0, resend=True):
        """Send one message; for QoS 1 returns its packet id, in `pending` until its PUBACK.

        A QoS 1 message is kept until its PUBACK and resent after a reconnect,
        so once it has an id it is never lost, even if this send failed. With
        `resend` False it is not kept (status and info, which are published
        afresh on every connect anyway) and a failed send raises OSError.
        """
        if not qos:
            await self.send(publish_packet(topic, message, 0, retain))
            return 0
        self.pid = pid = self.pid % 65535 + 1
        message = publish_packet(topic, message, 1, retain, pid)
        if resend:
            if len(self.pending) >= _MAX_PENDING:
                del self.pending[max(self.pending, key=self.age)]  # the oldest gives way
            self.pending[pid] = message
        try:
            await self.send(message)
        except OSError:
            if not resend:
                raise
            # Kept in `pending`: it goes out again after the next connect. Raising here
            # would make the caller publish it a second time under a new id.
        return pid

    def age(self, pid):
        """How many ids ago `pid` was handed out (0: the last one); right across the wrap.

        The oldest of the pending ids is the one with the largest age.
        """
        return (self.pid - pid) % 65535

    def step(self):
        """Look at the link, never waiting for it: None, or a coroutine the caller awaits next.

        The socket is looked at, not waited on. When a packet has begun to
        arrive the coroutine reads and handles it (call `step` again at once:
        more may have come); when a ping is due it sends one. With nothing to
        do it returns None, having closed the link if the broker was silent
        for a whole keepalive. So the connection needs no task of its own (a
        reader blocked on the socket would need a second one to keep time),
        and a look that finds nothing allocates nothing.
        """
        sock = self._sock
        if sock is None:
            return None
        try:
            first = sock.read(1)  # the socket does not block: None while nothing came
        except Exception as exc:  # noqa: BLE001 - a reset ends the connection
            self.close("read failed: %r" % (exc,))
            return None
        if first is None:
            now = ticks_ms()
            keepalive_ms = self.keepalive * 1000
            if ticks_diff(now, self._last_rx) >= keepalive_ms:
                self.close("broker silent for a keepalive")
            elif ticks_diff(now, self._last_tx) >= keepalive_ms // 2:
                return self._packet(self._stream, None)
            return None
        return self._packet(self._stream, first)

    async def _packet(self, stream, first):
        """Read and handle the packet that begins with `first`; with None, send a ping."""
        try:
            if first is None:
                await self.send(PINGREQ)
                return
            if not first:
                raise OSError("closed by the broker")
            first = first[0]
            size = 0
            shift = 0
            while True:  # the remaining length, in 7-bit groups
                byte = (await stream.readexactly(1))[0]
                size |= (byte & 0x7F) << shift
                shift += 7
                if not byte & 0x80:
                    break
                if shift > 21:
                    raise OSError("bad remaining length")
            over = size > _MAX_PACKET
            if over:
                # Its length is known: read it past and go on. Closing the link instead
                # would fetch the same (retained) message again at every reconnect. Its
                # start is kept, so a PUBLISH is still answered and the broker lets it go.
                print(
                    "mqtt: a packet of %d bytes is over the %d-byte cap; discarded"
                    % (size, _MAX_PACKET)
                )
                body = await stream.readexactly(64)
                size -= 64
                while size:
                    size -= len(await stream.readexactly(min(size, 512)))
            else:
                body = await stream.readexactly(size) if size else b""
            self._last_rx = ticks_ms()
            kind = first & 0xF0
            if kind == 0x30:
                qos = (first >> 1) & 3
                size = int.from_bytes(body[:2], "big")
                at = 2 + size + (2 if qos else 0)
                pid = body[at - 2 : at]
                if qos == 2:
                    # Exactly once: PUBREC now, PUBCOMP when the broker's PUBREL comes.
                    await self.send(b"\x50\x02" + pid)
                    received = self.received
                    if pid in received:  # sent again before its PUBREL: handed on already
                        return
                    if len(received) >= _MAX_PENDING:
                        received.pop(0)
                    received.append(pid)
                elif qos:
                    await self.send(b"\x40\x02" + pid)  # PUBACK
                if self.on_message is not None and not over:
                    try:
                        self.on_message(body[2 : 2 + size].decode(), body[at:], bool(first & 1))
                    except Exception as exc:  # noqa: BLE001 - a bad message must not end the link
                        print("mqtt: message handler failed:", repr(exc))
            elif kind == 0x40 and len(body) >= 2:
                self.pending.pop(int.from_bytes(body[:2], "big"), None)
            elif kind == 0x60 and len(body) >= 2:  # PUBREL: the broker's end of a QoS 2 delivery
                if body[:2] in self.received:
                    self.received.remove(body[:2])
                await self.send(b"\x70\x02" + body[:2])  # PUBCOMP, known id or not
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - EOF, reset or garbage all end the connection
            if stream is self._stream:
                self.close("read failed: %r" % (exc,))
