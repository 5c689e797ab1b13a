"""The hub's MQTT connection: a persistent session whose network thread only enqueues.

The broker keeps our session (fixed client id, ``clean_start = false`` and a
session expiry) so events published while the hub restarts are delivered when
it comes back. Subscriptions are QoS 1 on ``P/+/+`` for every prefix. MQTT 5
is the default; ``mqtt.protocol = "3.1.1"`` uses ``clean_session = false`` for
brokers without 5 (the demo's embedded broker).

The client is our own, not a general one: at the ingest rates the hub is
sized for, a general client's per-message objects, topic matching, locks and
many small socket reads cost more than everything else the hub does. One
network thread owns the socket: it reads large chunks, parses every complete
packet in them (``hub.mqtt.packets``) and hands each chunk's messages to the
owner thread's bounded inbox in one go. When the inbox is full it reads no
more until there is room, so TCP holds the broker back and nothing is
dropped. It
also does all the writing (publishes and acknowledgements other threads
queue, keepalive pings), since a TLS socket must not be written from two
threads. It reconnects by itself with a backoff of 1 s doubling to 30 s.

A message is acknowledged (PUBACK) only once the owner thread has applied it
and committed the checkpoint and the history spool for its batch: until then
the broker keeps it in the session, so a hub killed with a full inbox gets it
again after the restart (and drops what it had already applied by its
``(boot, seq)``). The hub announces a receive maximum of half its inbox, so
the broker keeps a flood instead of the hub dropping it.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from hub.config import LimitsConfig, MqttConfig
from hub.contract import protocol
from hub.mqtt import connection
from hub.mqtt import packets as mp
from hub.mqtt.inbox import Inbound, Inbox

logger = logging.getLogger(__name__)

HUB_ONLINE = b"online"
HUB_OFFLINE = connection.HUB_OFFLINE
FAIL_LOG_EVERY_S = 60.0
MQTT_RECEIVE_MAXIMUM_CAP = 65535  # the largest value the MQTT 5 property can carry
RECV_CHUNK = 262144  # bytes asked of the socket at once; thousands of small publishes fit
READ_BATCH = 1 << 20  # read at most this much before handing messages on
SEND_CHUNK = 262144
MAX_INFLIGHT = 100  # our unacknowledged publishes; the rest wait in order
RECONNECT_MIN_S = 1.0
RECONNECT_MAX_S = 30.0
STAMP_STEP_S = 0.00101  # one millisecond and a little, whatever the rounding
PING_GRACE = 1.5  # keepalives without a byte from the broker before the link counts as dead
WAIT_FOR_ROOM_S = 0.005  # how often a full inbox is looked at again
_TLS_RETRY = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


_new_inbound = tuple.__new__  # Inbound's own __new__ adds a Python call per message


class _LinkLostError(Exception):
    """The connection is gone or unusable; the reason is the message."""


class _RefusedError(_LinkLostError):
    """The broker answered CONNECT with a refusal (already logged)."""


class MqttTransport:
    """Connects, subscribes, enqueues what arrives and publishes what the hub sends."""

    def __init__(
        self,
        cfg: MqttConfig,
        limits: LimitsConfig,
        inbox: Inbox[Any] | queue.Queue[Any],
        on_drop: Callable[[str], None],
    ) -> None:
        self.cfg = cfg
        self.limits = limits
        self.inbox = inbox
        self.on_drop = on_drop
        self.connected = threading.Event()
        self.connects = 0
        self._last_fail_log = -FAIL_LOG_EVERY_S
        self._tls = connection.tls_context(cfg) if cfg.tls else None
        # Everything below the lock is shared with the threads that publish and acknowledge.
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)  # nothing of ours left unacknowledged
        # Bumped whenever a connection starts or ends, so that an acknowledgement is
        # never written on a connection other than the one its message came on.
        self._link = 0
        self._ready = False  # CONNACK received on the current connection; _out may be written
        self._out = bytearray()  # bytes for the current connection, written by the network thread
        self._pending: collections.deque[tuple[str, bytes, bool]] = collections.deque()
        self._inflight: dict[int, bytes] = {}  # packet id -> PUBLISH, oldest first
        self._inflight_cap = MAX_INFLIGHT
        self._next_mid = 0
        self._sub_mid = 0
        self._refused: list[Inbound] = []  # dropped on arrival, acknowledged with the next batch
        self._woken = False  # a byte is on its way through the wake-up pair
        self._closing = False
        self._stop = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread: threading.Thread | None = None
        # Network thread only.
        self._unsent = bytearray()
        self._retry_len = 0  # a TLS write that must be repeated with the same length
        self._parts: list[bytes] = []  # received bytes not yet parsed (an incomplete packet)
        self._have = 0
        self._need = 0
        self._keepalive = float(int(cfg.keepalive))  # the broker may ask for another
        self._stamps: dict[str, float] = {}  # topic -> receive time given to its latest message
        # Messages read but not yet in the inbox (it was full): nothing more is read from
        # the socket until they are in, so TCP holds the broker back instead of a drop.
        self._waiting: list[Inbound] = []

    @property
    def v5(self) -> bool:
        """MQTT 5 unless the config asks for 3.1.1 (some brokers, such as amqtt, lack 5)."""
        return self.cfg.protocol == "5"

    @property
    def receive_maximum(self) -> int:
        """Unacknowledged messages the broker may send at once: half of what the inbox holds.

        Half, not all: the inbox also takes the owner thread's wake-ups, and
        a broker that miscounts (mosquitto 2.0 has been seen to) rarely fills
        it; when it does, reading pauses until there is room.
        """
        return max(1, min(MQTT_RECEIVE_MAXIMUM_CAP, self.limits.queue_size // 2))

    # ---- the owner's side: any thread ----------------------------------------------

    def start(self) -> None:
        """Connect in the background; the network thread keeps retrying until the broker answers."""
        self._thread = threading.Thread(target=self._run, name="sitless-mqtt", daemon=True)
        self._thread.start()

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue a QoS 1 publish; it goes out now, or after the next reconnect."""
        self.publish_many([(topic, payload, retain)])

    def publish_many(self, messages: list[tuple[str, bytes, bool]]) -> None:
        """Queue several QoS 1 publishes, (topic, payload, retain) each, under one lock."""
        with self._lock:
            self._pending.extend(messages)
            if self._ready and len(self._inflight) < self._inflight_cap:
                self._fill_locked()
                self._wake_locked()

    def ack(self, messages: list[Inbound]) -> None:
        """Acknowledge messages whose effects are committed, in one write; safe from any thread.

        Messages from an earlier connection are skipped: the broker sends them
        again on the new one, and their message ids may already mean others.
        """
        with self._lock:
            link = self._link
            refused, self._refused = self._refused, []
            mids = [m.mid for m in refused if m.link == link and m.qos == 1]
            mids += [m.mid for m in messages if m.link == link and m.qos == 1]
            if mids and self._ready:
                self._out += mp.pubacks(mids)
                self._wake_locked()

    def stop(self, timeout: float = 5.0) -> None:
        """Announce ``offline`` on every prefix, then disconnect cleanly (the session stays)."""
        deadline = time.monotonic() + timeout
        if self.connected.is_set():
            for prefix in self.cfg.prefixes:
                self.publish(protocol.hub_status_topic(prefix), HUB_OFFLINE, retain=True)
            with self._lock:
                # Ours are the last publishes: once nothing is unacknowledged, they arrived.
                self._idle.wait_for(
                    lambda: not self._ready or not (self._pending or self._inflight),
                    max(0.0, deadline - time.monotonic()),
                )
        with self._lock:
            self._closing = True
            self._wake_locked()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(1.0, deadline - time.monotonic()))
        self.connected.clear()
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                self._wake_r.close()
                self._wake_w.close()

    def _wake_locked(self) -> None:
        """Make the network thread look at the outgoing bytes (caller holds the lock)."""
        if not self._woken:
            self._woken = True
            # Full of wake-ups already, or closed by stop(): either way nobody is waiting.
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\x00")

    def _fill_locked(self) -> None:
        """Move queued publishes in flight while there is room (caller holds the lock)."""
        v5 = self.v5
        while self._pending and len(self._inflight) < self._inflight_cap:
            topic, payload, retain = self._pending.popleft()
            mid = self._free_mid_locked()
            encoded = mp.publish(topic, payload, mid=mid, retain=retain, v5=v5)
            self._inflight[mid] = encoded
            self._out += encoded

    def _free_mid_locked(self) -> int:
        mid = self._next_mid
        while True:
            mid = mid % 65535 + 1
            if mid not in self._inflight and mid != self._sub_mid:
                self._next_mid = mid
                return mid

    # ---- the network thread --------------------------------------------------------

    def _run(self) -> None:
        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            sock = self._open()
            if sock is not None:
                if self._serve(sock):
                    delay = RECONNECT_MIN_S
                self._hand_over_waiting()
                if self._closing:
                    return
            if self._stop.wait(delay):
                return
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _hand_over_waiting(self) -> None:
        """Put what was read before the connection ended into the inbox, waiting for room.

        The broker may not have kept them (a broker that died right after
        sending); if it did, it sends them again on the next connection and
        the owner thread drops the second copy by ``(boot, seq)``.
        """
        while self._waiting and not self._stop.is_set():
            self._waiting = self._waiting[self._put_all(self._waiting) :]
            if self._waiting:
                self._stop.wait(WAIT_FOR_ROOM_S)
        self._waiting = []

    def _open(self) -> socket.socket | None:
        """Connect and send CONNECT; None when that fails (why is logged once a minute)."""
        packet = connection.connect_packet(
            self.cfg, v5=self.v5, receive_maximum=self.receive_maximum
        )
        try:
            return connection.open_link(self.cfg, self._tls, packet)
        except OSError:
            self._connect_failed()
            return None

    def _connect_failed(self) -> None:
        # Say why, once a minute at most: the retries go on quietly.
        now = time.monotonic()
        if now - self._last_fail_log < FAIL_LOG_EVERY_S:
            return
        self._last_fail_log = now
        logger.warning(
            "cannot connect to the broker at %s:%d: %s; retrying",
            self.cfg.host,
            self.cfg.port,
            connection.diagnose(self.cfg, self._tls),
        )

    def _serve(self, sock: socket.socket) -> bool:
        """Run one connection until it ends; True if the broker accepted it."""
        with self._lock:
            self._link += 1
            self._out.clear()
        self._unsent = bytearray()
        self._retry_len = 0
        self._parts, self._have, self._need = [], 0, 0
        accepted = False
        selector = selectors.DefaultSelector()
        try:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            accepted = self._loop(sock, selector)
        except _RefusedError:
            pass
        except _LinkLostError as exc:
            accepted = self._ready
            if self._closing:
                pass
            elif accepted:
                logger.info("disconnected from the broker: %s", exc)
            else:
                # Closed before CONNACK, as a TLS 1.3 broker does with a missing client
                # certificate: as much a failure to connect as a refused handshake.
                logger.debug("connection ended before CONNACK: %s", exc)
                self._connect_failed()
        finally:
            with self._lock:
                self._link += 1
                self._ready = False
                self._out.clear()
                self._idle.notify_all()
            self.connected.clear()
            selector.close()
            sock.close()
        return accepted

    def _loop(  # noqa: C901, PLR0912 - the one event loop
        self,
        sock: socket.socket,
        selector: selectors.BaseSelector,
    ) -> bool:
        """Write, wait, read, ping; return when closing, raise ``_LinkLostError`` when it ends.

        Keepalive: a PINGREQ once nothing was sent, or nothing came, for a
        keepalive period; the link is dead when nothing at all came for 1.5 of them.
        """
        keepalive = float(int(self.cfg.keepalive))
        last_send = last_recv = time.monotonic()
        pinged = accepted = False
        events = selectors.EVENT_READ
        tls = sock if isinstance(sock, ssl.SSLSocket) else None
        while not self._closing:
            if self._flush(sock):
                last_send = time.monotonic()
            if self._waiting:
                self._waiting = self._waiting[self._put_all(self._waiting) :]
            now = time.monotonic()
            if self._waiting:
                last_recv = now  # unread by choice, not silence: the broker is not dead
            events = self._watch(selector, sock, events)
            if now - last_recv > PING_GRACE * keepalive:
                raise _LinkLostError(f"no answer from the broker in {PING_GRACE * keepalive:g} s")
            if accepted and not pinged and min(last_send, last_recv) + keepalive <= now:
                with self._lock:
                    self._out += mp.PINGREQ_PACKET
                pinged = True
                continue
            if not accepted or pinged:
                wait = last_recv + PING_GRACE * keepalive - now
            else:
                wait = min(last_send, last_recv) + keepalive - now
            reading = not self._waiting
            if self._waiting:
                wait = min(wait, WAIT_FOR_ROOM_S)  # look again for room in the inbox soon
            elif tls is not None and tls.pending():
                wait = 0.0  # decrypted bytes left over from a capped read
            for key, mask in selector.select(max(0.0, wait)):
                if key.fileobj is self._wake_r:
                    self._drain_wake()
                elif mask & selectors.EVENT_READ and reading and self._read(sock):
                    last_recv = time.monotonic()
                    pinged = False
                    if not accepted and self._ready:
                        accepted = True
                        keepalive = self._keepalive
                        last_send = last_recv
            if not self._waiting and tls is not None and tls.pending() and self._read(sock):
                last_recv = time.monotonic()
                pinged = False
        self._say_goodbye(sock)
        return accepted

    def _watch(self, selector: selectors.BaseSelector, sock: socket.socket, events: int) -> int:
        """Ask the selector for what the socket is needed for now; the events asked for.

        Readable only while nothing waits for room in the inbox, writable only
        while bytes are unsent; with neither, the socket is not watched at all.
        """
        want = (0 if self._waiting else selectors.EVENT_READ) | (
            selectors.EVENT_WRITE if self._unsent else 0
        )
        if want != events:
            if not events:
                selector.register(sock, want)
            elif not want:
                selector.unregister(sock)
            else:
                selector.modify(sock, want)
        return want

    def _say_goodbye(self, sock: socket.socket) -> None:
        """DISCONNECT with reason "normal": the broker keeps the session and drops the will."""
        with self._lock:
            ready = self._ready
        if not ready:
            return
        with self._lock:
            rest = bytes(self._out)
            self._out.clear()
        try:
            sock.setblocking(True)
            sock.settimeout(1.0)
            sock.sendall(bytes(self._unsent) + rest + mp.DISCONNECT_PACKET)
        except OSError as exc:
            logger.debug("DISCONNECT not sent: %s", exc)

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self._lock:
            self._woken = False

    def _flush(self, sock: socket.socket) -> bool:
        """Write what is queued, as far as the socket takes it; True if anything went."""
        if not self._unsent:
            with self._lock:
                if not self._out:
                    return False
                self._unsent, self._out = self._out, bytearray()
        elif self._retry_len == 0:
            with self._lock:
                if self._out:
                    self._unsent += self._out
                    self._out.clear()
        size = self._retry_len or min(len(self._unsent), SEND_CHUNK)
        try:
            sent = sock.send(self._unsent if size == len(self._unsent) else self._unsent[:size])
        except (BlockingIOError, *_TLS_RETRY):
            self._retry_len = size if self._tls is not None else 0
            return False
        except OSError as exc:
            raise _LinkLostError(f"write failed ({exc.strerror or exc})") from exc
        self._retry_len = 0
        if sent == len(self._unsent):
            self._unsent = bytearray()
        else:
            del self._unsent[:sent]
        return sent > 0

    def _read(self, sock: socket.socket) -> bool:
        """Take what the socket has, act on every complete packet; True if bytes came."""
        got = 0
        parts = self._parts
        lost: _LinkLostError | None = None
        while got < READ_BATCH:
            try:
                data = sock.recv(RECV_CHUNK)
            except (BlockingIOError, *_TLS_RETRY):
                break
            except OSError as exc:
                lost = _LinkLostError(f"read failed ({exc.strerror or exc})")
                break
            if not data:
                lost = _LinkLostError("the broker closed the connection")
                break
            parts.append(data)
            got += len(data)
        if got:
            # What came before the end is still news: a broker that dies right after
            # sending may have kept no copy, so these may be the only ones.
            self._have += got
            if self._have >= self._need:
                self._take(parts)
        if lost is not None:
            raise lost
        return got > 0

    def _take(self, parts: list[bytes]) -> None:
        """Act on every complete packet in what was received; keep the incomplete rest."""
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        try:
            publishes, others, used, self._need = mp.read_packets(data, v5=self.v5)
        except mp.PacketError as exc:
            raise _LinkLostError(f"the broker sent a malformed packet ({exc})") from exc
        rest = data[used:]
        self._parts = [rest] if rest else []
        self._have = len(rest)
        if publishes:
            self._enqueue(publishes)
        if others:  # after the publishes: a DISCONNECT among them ends the link
            self._handle(others)

    def _enqueue(self, publishes: list[mp.Publish]) -> None:
        """Hand a chunk's messages to the inbox in one go; refuse what is too large or too many."""
        received = time.time()
        link = self._link
        limit = self.limits.max_payload
        # Receive times stay distinct per topic at millisecond resolution: a burst of one
        # desk's events without a device time (clock not yet set) would otherwise share
        # one time, and history keeps one point per desk and millisecond.
        last = {t: s for t, s in self._stamps.items() if s + STAMP_STEP_S > received}
        batch = []
        for topic, payload, retain, mid, qos in publishes:
            if len(payload) > limit:
                continue
            stamp = last.get(topic)
            stamp = (
                received
                if stamp is None or stamp + STAMP_STEP_S <= received
                else (stamp + STAMP_STEP_S)
            )
            last[topic] = stamp
            batch.append(_new_inbound(Inbound, (topic, payload, retain, stamp, mid, qos, link)))
        self._stamps = last
        if len(batch) != len(publishes):
            for topic, payload, _retain, mid, qos in publishes:
                if len(payload) > limit:
                    self.on_drop("too_large")
                    self._refuse(Inbound(topic, b"", False, 0.0, mid, qos, link))
        # Only when the broker sends beyond the receive maximum (or, over 3.1.1, beyond
        # what it allows in flight) can the inbox be full: the rest waits, unread after it.
        self._waiting = batch[self._put_all(batch) :]

    def _put_all(self, batch: list[Inbound]) -> int:
        """Put as many of ``batch`` as fit into the inbox: one lock and one wake-up for all."""
        inbox = self.inbox
        if isinstance(inbox, Inbox):
            return inbox.put_many(batch)
        for n, inbound in enumerate(batch):  # any other queue: one item at a time
            try:
                inbox.put_nowait(inbound)
            except queue.Full:
                return n
        return len(batch)

    def _refuse(self, inbound: Inbound) -> None:
        """Acknowledge a dropped message with the owner thread's next batch.

        Acknowledging it at once, from this thread, let mosquitto 2.0 exceed
        the receive maximum (seen in the flood test); all acknowledgements go
        out after a batch. Refused for good: unacknowledged it would come back.
        """
        with self._lock:
            self._refused.append(inbound)

    def _handle(self, packets: list[mp.Other]) -> None:
        v5 = self.v5
        for first, body in packets:
            kind = first & 0xF0
            try:
                if kind == mp.PUBACK:
                    self._acked(mp.read_puback(body))
                elif kind == mp.CONNACK:
                    self._connack(mp.read_connack(body, v5=v5))
                elif kind == mp.SUBACK:
                    self._suback(*mp.read_suback(body, v5=v5))
                elif kind == mp.DISCONNECT:
                    reason, words = mp.read_disconnect(body, v5=v5)
                    raise _LinkLostError(
                        f"the broker disconnected us (reason 0x{reason:02x}"
                        f"{': ' + words if words else ''})"
                    )
                elif kind != mp.PINGRESP:
                    logger.debug("ignored an unexpected packet of type %d", first >> 4)
            except mp.PacketError as exc:
                raise _LinkLostError(f"the broker sent a malformed packet ({exc})") from exc

    def _acked(self, puback: tuple[int, int]) -> None:
        mid, reason = puback
        if reason >= 0x80:
            logger.debug("the broker refused publish %d (reason 0x%02x)", mid, reason)
        with self._lock:
            if self._inflight.pop(mid, None) is None:
                return
            if self._pending:
                self._fill_locked()
            elif not self._inflight:
                self._idle.notify_all()

    def _connack(self, connack: mp.Connack) -> None:
        if connack.reason != 0:
            logger.warning("broker refused the connection: %s", connack.why(v5=self.v5))
            raise _RefusedError(connack.why(v5=self.v5))
        self._keepalive = float(connack.server_keepalive or int(self.cfg.keepalive))
        v5 = self.v5
        if v5:
            # No Local: the broker does not echo the hub's own commands and views back
            # (two extra messages per alert). Retained views from an earlier run still
            # arrive on subscribe, which the hub needs to seed desks without a checkpoint.
            filters = [(f"{p}/+/+", 1 | mp.SUB_NO_LOCAL) for p in self.cfg.prefixes]
        else:
            filters = [(f"{p}/+/+", 1) for p in self.cfg.prefixes]
        with self._lock:
            self._sub_mid = 0
            self._sub_mid = self._free_mid_locked()
            self._out += mp.subscribe(self._sub_mid, filters, v5=v5)
            # What was in flight on the last connection goes first, marked as sent before.
            self._inflight_cap = max(1, min(MAX_INFLIGHT, connack.receive_maximum))
            for encoded in self._inflight.values():
                self._out += mp.with_dup(encoded)
            online = [(protocol.hub_status_topic(p), HUB_ONLINE, True) for p in self.cfg.prefixes]
            self._pending.extendleft(reversed(online))
            self._ready = True
            self._fill_locked()
        self.connects += 1
        logger.info("connected to the broker (session present: %s)", connack.session_present)

    def _suback(self, mid: int, codes: list[int]) -> None:
        if mid != self._sub_mid:
            return
        if any(code >= 0x80 for code in codes):
            logger.warning(
                "the broker refused a subscription (reason codes %s)",
                ", ".join(f"0x{code:02x}" for code in codes),
            )
        self.connected.set()
