"""The hub's MQTT connection: a persistent session whose network thread only enqueues.

The broker keeps our session (fixed client id, ``clean_start = false`` and a
session expiry) so events published while the hub restarts are delivered when
it comes back. Subscriptions are QoS 1 on ``P/+/+`` for every prefix. MQTT 5
is the default; ``mqtt.protocol = "3.1.1"`` uses ``clean_session = false`` for
brokers without 5 (the demo's embedded broker, amqtt, aedes).

The client is our own, not a general one: at the ingest rates the hub is
sized for, a general client's per-message objects, topic matching, locks and
many small socket reads cost more than everything else the hub does. One
network thread owns the socket. This module is its loop and the hub's side
of it; the parts, one job each:

- ``connection``: TCP, TLS, the CONNECT packet, and why a connection failed;
- ``receiver``: large reads, parsed into packets, messages into the inbox;
- ``arrivals``: which messages the inbox gets and which are passed over;
- ``control``: CONNACK, SUBACK, PUBACK, PUBREL and DISCONNECT, acted on;
- ``outbox``: publishes waiting and in flight, acknowledgements, bytes to write;
- ``backoff``: when to connect again (1 s doubling to 30 s, no reconnect loop);
- ``refusals``: what the broker refused, counted and said at WARNING.

The network thread also does all the writing (publishes and
acknowledgements other threads queue, keepalive pings), since a TLS socket
must not be written from two threads.

A message is acknowledged (PUBACK) only once the owner thread has applied it
and committed the checkpoint and the history spool for its batch: until then
the broker keeps it in the session, so a hub killed with a full inbox gets it
again after the restart (and drops what it had already applied by its
``(boot, seq)``). The hub announces a receive maximum of half its inbox, so
the broker keeps a flood instead of the hub dropping it.
"""

from __future__ import annotations

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
from hub.mqtt.arrivals import Arrivals
from hub.mqtt.backoff import Backoff
from hub.mqtt.control import HUB_ONLINE, Control, LinkLostError, RefusedError
from hub.mqtt.inbox import Inbound, Inbox
from hub.mqtt.outbox import Outbox
from hub.mqtt.receiver import WAIT_FOR_ROOM_S, Receiver
from hub.mqtt.refusals import Refusals

__all__ = ["HUB_OFFLINE", "HUB_ONLINE", "MqttTransport"]

logger = logging.getLogger(__name__)

HUB_OFFLINE = connection.HUB_OFFLINE
FAIL_LOG_EVERY_S = 60.0
MQTT_RECEIVE_MAXIMUM_CAP = 65535  # the largest value the MQTT 5 property can carry
SEND_CHUNK = 262144
PING_GRACE = 1.5  # keepalives without a byte from the broker before the link counts as dead
_TLS_RETRY = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


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
        self._last_fail_log = -FAIL_LOG_EVERY_S
        self._tls = connection.tls_context(cfg) if cfg.tls else None
        # Refusals by reason (the broker's and ours), counted and logged at WARNING.
        self.refusals = Refusals()
        statuses = frozenset(protocol.hub_status_topic(p) for p in cfg.prefixes)
        self._outbox = Outbox(self.refusals, v5=self.v5, unkept=statuses)
        self._backoff = Backoff(self._outbox, self.refusals, cfg.client_id)
        self._control = Control(cfg, self._outbox, self._backoff, self.refusals, self.connected)
        arrivals = Arrivals(
            cfg.prefixes, limits, v5=self.v5, on_drop=on_drop, refuse=self._outbox.pass_over
        )
        self._receiver = Receiver(inbox, limits, arrivals, self._control.handle, v5=self.v5)
        self._closing = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Network thread only.
        self._unsent = bytearray()
        self._retry_len = 0  # a TLS write that must be repeated with the same length

    @property
    def v5(self) -> bool:
        """MQTT 5 unless the config asks for 3.1.1 (some brokers, such as amqtt, lack 5)."""
        return self.cfg.protocol == "5"

    @property
    def connects(self) -> int:
        """Connections the broker accepted so far."""
        return self._control.connects

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
        self._outbox.publish_many([(topic, payload, retain)])

    def publish_many(self, messages: list[tuple[str, bytes, bool]]) -> None:
        """Queue several QoS 1 publishes, (topic, payload, retain) each, under one lock."""
        self._outbox.publish_many(messages)

    def hand_over(self, timeout: float) -> None:
        """Wait (at most ``timeout``) until the network thread has taken what is queued to write."""
        self._outbox.wait_taken(timeout)

    def ack(self, messages: list[Inbound]) -> None:
        """Acknowledge messages whose effects are committed, in one write; safe from any thread."""
        self._outbox.ack(messages)

    def stop(self, timeout: float = 5.0) -> None:
        """Announce ``offline`` on every prefix, then disconnect cleanly (the session stays)."""
        deadline = time.monotonic() + timeout
        if self.connected.is_set():
            for prefix in self.cfg.prefixes:
                self.publish(protocol.hub_status_topic(prefix), HUB_OFFLINE, retain=True)
            # Ours are the last publishes: once nothing is unacknowledged, they arrived.
            self._outbox.wait_idle(max(0.0, deadline - time.monotonic()))
        self._closing = True
        self._outbox.wake()
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(1.0, deadline - time.monotonic()))
        self.connected.clear()
        if self._thread is None or not self._thread.is_alive():
            self._outbox.close()

    # ---- the network thread --------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            sock = self._open()
            if sock is not None:
                began = time.monotonic()
                accepted = self._serve(sock)
                self._backoff.ended(
                    time.monotonic() - began,
                    accepted=accepted,
                    troubled=self._control.troubled,
                    closing=self._closing,
                )
                self._receiver.hand_over_waiting(self._stop)
                if self._closing:
                    return
            if self._stop.wait(self._backoff.next_wait()):
                return

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
        self._outbox.begin()
        self._receiver.begin(self._outbox.link)
        self._control.begin()
        self._unsent = bytearray()
        self._retry_len = 0
        accepted = False
        selector = selectors.DefaultSelector()
        try:
            selector.register(sock, selectors.EVENT_READ)
            selector.register(self._outbox.wake_r, selectors.EVENT_READ)
            accepted = self._loop(sock, selector)
        except RefusedError:
            pass
        except LinkLostError as exc:
            accepted = self._outbox.ready
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
            self._outbox.end()
            self.connected.clear()
            selector.close()
            sock.close()
        return accepted

    def _loop(  # noqa: C901, PLR0912 - the one event loop
        self,
        sock: socket.socket,
        selector: selectors.BaseSelector,
    ) -> bool:
        """Write, wait, read, ping; return when closing, raise ``LinkLostError`` when it ends.

        Keepalive: a PINGREQ once nothing was sent, or nothing came, for a
        keepalive period; the link is dead when nothing at all came for 1.5 of them.
        """
        outbox, receiver, control = self._outbox, self._receiver, self._control
        keepalive = float(int(self.cfg.keepalive))
        last_send = last_recv = time.monotonic()
        pinged = accepted = False
        events = selectors.EVENT_READ
        tls = sock if isinstance(sock, ssl.SSLSocket) else None
        while not self._closing:
            if self._flush(sock):
                last_send = time.monotonic()
            receiver.retry_waiting()
            now = time.monotonic()
            if receiver.waiting:
                last_recv = now  # unread by choice, not silence: the broker is not dead
            events = self._watch(selector, sock, events)
            if now - last_recv > PING_GRACE * keepalive:
                raise LinkLostError(f"no answer from the broker in {PING_GRACE * keepalive:g} s")
            if accepted and not pinged and min(last_send, last_recv) + keepalive <= now:
                outbox.write(mp.PINGREQ_PACKET)
                pinged = True
                continue
            resubscribe_at = control.resubscribe_at
            if resubscribe_at is not None and resubscribe_at <= now:
                control.subscribe()
                continue
            if not accepted or pinged:
                wait = last_recv + PING_GRACE * keepalive - now
            else:
                wait = min(last_send, last_recv) + keepalive - now
            if resubscribe_at is not None:
                wait = min(wait, resubscribe_at - now)
            reading = not receiver.waiting
            if receiver.waiting:
                wait = min(wait, WAIT_FOR_ROOM_S)  # look again for room in the inbox soon
            elif tls is not None and tls.pending():
                wait = 0.0  # decrypted bytes left over from a capped read
            for key, mask in selector.select(max(0.0, wait)):
                if key.fileobj is outbox.wake_r:
                    outbox.drain_wake()
                elif mask & selectors.EVENT_READ and reading and receiver.read(sock):
                    last_recv = time.monotonic()
                    pinged = False
                    if not accepted and outbox.ready:
                        accepted = True
                        keepalive = control.keepalive
                        last_send = last_recv
            if not receiver.waiting and tls is not None and tls.pending() and receiver.read(sock):
                last_recv = time.monotonic()
                pinged = False
        self._say_goodbye(sock)
        return accepted

    def _watch(self, selector: selectors.BaseSelector, sock: socket.socket, events: int) -> int:
        """Ask the selector for what the socket is needed for now; the events asked for.

        Readable only while nothing waits for room in the inbox, writable only
        while bytes are unsent; with neither, the socket is not watched at all.
        """
        want = (0 if self._receiver.waiting else selectors.EVENT_READ) | (
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
        if not self._outbox.ready:
            return
        rest = self._outbox.take() or b""
        try:
            sock.setblocking(True)
            sock.settimeout(1.0)
            sock.sendall(bytes(self._unsent) + rest + mp.DISCONNECT_PACKET)
        except OSError as exc:
            logger.debug("DISCONNECT not sent: %s", exc)

    def _flush(self, sock: socket.socket) -> bool:
        """Write what is queued, as far as the socket takes it; True if anything went."""
        if not self._unsent:
            out = self._outbox.take()
            if out is None:
                return False
            self._unsent = out
        elif self._retry_len == 0:
            out = self._outbox.take()
            if out is not None:
                self._unsent += out
        size = self._retry_len or min(len(self._unsent), SEND_CHUNK)
        try:
            sent = sock.send(self._unsent if size == len(self._unsent) else self._unsent[:size])
        except (BlockingIOError, *_TLS_RETRY):
            self._retry_len = size if self._tls is not None else 0
            return False
        except OSError as exc:
            raise LinkLostError(f"write failed ({exc.strerror or exc})") from exc
        self._retry_len = 0
        if sent == len(self._unsent):
            self._unsent = bytearray()
        else:
            del self._unsent[:sent]
        return sent > 0
