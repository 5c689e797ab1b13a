"""The hub's MQTT connection: a persistent session whose callback only enqueues.

The broker keeps our session (fixed client id, ``clean_start = false`` and a
session expiry) so events published while the hub restarts are delivered when
it comes back; paho's default would start clean on the first connect of every
process and lose them. Subscriptions are QoS 1 on ``P/+/+`` for every prefix.
MQTT 5 is the default; ``mqtt.protocol = "3.1.1"`` uses ``clean_session = false``
for brokers without 5 (the demo's embedded broker).

paho runs every callback on its one network thread; anything slow there
stalls keepalives and acknowledgements. So ``on_message`` only copies the
message onto a bounded queue for the thread that owns desk state, and counts
what it has to drop. paho reconnects by itself with a backoff.

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
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from hub import protocol
from hub.config import LimitsConfig, MqttConfig
from hub.errors import ConfigError

logger = logging.getLogger(__name__)

HUB_ONLINE = b"online"
HUB_OFFLINE = b"offline"
FAIL_LOG_EVERY_S = 60.0
DIAGNOSE_TIMEOUT_S = 5.0
MQTT_RECEIVE_MAXIMUM_CAP = 65535  # the largest value the MQTT 5 property can carry
_PUBACK = struct.Struct("!BBH")  # fixed header, remaining length 2, message id
RECV_CHUNK = 65536  # bytes asked of the socket at once; many small publishes fit


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as it came off the wire, with the hub's receive time.

    ``mid`` and ``qos`` are what its acknowledgement needs; ``link`` names the
    connection it came on, because an acknowledgement is only meaningful on
    that connection (after a reconnect the broker sends it again anyway).
    """

    topic: str
    payload: bytes
    retain: bool
    received: float
    mid: int = 0
    qos: int = 0
    link: int = 0


class _BufferedClient(paho.Client):
    """paho's client reading the socket in large chunks instead of a few bytes at a time.

    paho asks the socket for each packet's first byte, then each byte of its
    length, then the rest: three or more system calls per small publish, each
    giving up the interpreter lock to the owner thread and waiting to get it
    back. Here one ``recv`` fills a buffer and paho's reads are served from
    it; ``loop_read`` keeps going while the buffer holds bytes, because the
    socket no longer reports them as readable. The bytes, their order and
    paho's handling of each packet are unchanged.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = bytearray()
        self._rbuf_sock: object = None  # the socket the buffered bytes came from

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._sock is not self._rbuf_sock:
            # A new connection: bytes left from the old one mean nothing on it.
            self._rbuf_sock = self._sock
            self._rbuf.clear()
        if not self._rbuf:
            data = super()._sock_recv(RECV_CHUNK)
            if len(data) <= bufsize:
                return data  # all of it wanted (or b"", the connection closed)
            self._rbuf += data
        out = bytes(self._rbuf[:bufsize])
        del self._rbuf[:bufsize]
        return out

    def ack_many(self, mids: list[int]) -> None:
        """Queue the PUBACKs of several QoS 1 messages as one write.

        ``ack`` per message wakes the network thread once and sends one tiny
        packet per message; these are the same PUBACKs, in the same order,
        queued together and sent with one ``send``.
        """
        if mids:
            packet = b"".join([_PUBACK.pack(paho.PUBACK, 2, mid) for mid in mids])
            self._packet_queue(paho.PUBACK, packet, 0, 1)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == paho.MQTT_ERR_SUCCESS and self._rbuf and self._sock is self._rbuf_sock:
            rc = super().loop_read(max_packets)
        return rc


class MqttTransport:
    """Connects, subscribes, enqueues what arrives and publishes what the hub sends."""

    def __init__(self, cfg: MqttConfig, limits: LimitsConfig,
                 inbox: queue.Queue[Any], on_drop: Callable[[str], None]) -> None:
        self.cfg = cfg
        self.limits = limits
        self.inbox = inbox
        self.on_drop = on_drop
        self.connected = threading.Event()
        self.connects = 0
        self._last_fail_log = -FAIL_LOG_EVERY_S
        # Bumped on every connect and disconnect; guarded so that an acknowledgement
        # is never queued for a connection other than the one its message came on.
        self._link = 0
        self._link_lock = threading.Lock()
        self._refused: list[Inbound] = []  # dropped on arrival, acknowledged with the next batch
        self._tls = tls_context(cfg) if cfg.tls else None
        self._client: _BufferedClient = self._make_client()

    @property
    def v5(self) -> bool:
        """MQTT 5 unless the config asks for 3.1.1 (some brokers, such as amqtt, lack 5)."""
        return self.cfg.protocol == "5"

    def _make_client(self) -> _BufferedClient:
        cfg = self.cfg
        if self.v5:
            client = _BufferedClient(CallbackAPIVersion.VERSION2, client_id=cfg.client_id,
                                     protocol=paho.MQTTv5, manual_ack=True)
        else:
            client = _BufferedClient(CallbackAPIVersion.VERSION2, client_id=cfg.client_id,
                                     protocol=paho.MQTTv311, clean_session=False,
                                     manual_ack=True)
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password else None
            client.username_pw_set(cfg.username, password)
        if self._tls is not None:
            client.tls_set_context(self._tls)
        # One will per connection: it goes to the first prefix; stop() announces on all.
        client.will_set(protocol.hub_status_topic(cfg.prefixes[0]), HUB_OFFLINE, qos=1,
                        retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until the broker answers."""
        keepalive = int(self.cfg.keepalive)
        if self.v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = int(self.cfg.session_expiry)
            # Unacknowledged messages wait in the inbox until their batch is committed;
            # allow many (mosquitto's own default for 3.1.1 is 20), but fewer than it holds.
            props.ReceiveMaximum = self.receive_maximum
            self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=keepalive,
                                       clean_start=False, properties=props)
        else:
            self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=keepalive)
        self._client.loop_start()

    @property
    def receive_maximum(self) -> int:
        """Unacknowledged messages the broker may send at once: half of what the inbox holds.

        Half, not all: the inbox also takes the owner thread's wake-ups, and
        the headroom keeps a broker that miscounts off ``queue_full``.
        """
        return max(1, min(MQTT_RECEIVE_MAXIMUM_CAP, self.limits.queue_size // 2))

    def ack(self, messages: list[Inbound]) -> None:
        """Acknowledge messages whose effects are committed; safe from any thread.

        paho's ``ack`` only appends a PUBACK to its outgoing deque and wakes
        the network loop, the same path ``publish`` takes from other threads.
        Messages from an earlier connection are skipped: the broker sends them
        again on the new one, and their message ids may already mean others.
        """
        with self._link_lock:
            link = self._link
            refused, self._refused = self._refused, []
            mids = []
            for message in (*refused, *messages):
                if message.link != link:
                    continue
                if message.qos == 1:
                    mids.append(message.mid)
                elif message.qos > 1:
                    self._client.ack(message.mid, message.qos)
            self._client.ack_many(mids)

    def _new_link(self) -> None:
        with self._link_lock:
            self._link += 1

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Queue a QoS 1 publish; paho sends it now or after the next reconnect."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            logger.warning("publish to %s failed: %s", topic, paho.error_string(info.rc))

    def stop(self, timeout: float = 5.0) -> None:
        """Announce ``offline`` on every prefix, then disconnect cleanly (the session stays)."""
        if self.connected.is_set():
            infos = [self._client.publish(protocol.hub_status_topic(p), HUB_OFFLINE, qos=1,
                                          retain=True) for p in self.cfg.prefixes]
            deadline = time.monotonic() + timeout
            for info in infos:
                remaining = deadline - time.monotonic()
                if remaining > 0 and info.rc == paho.MQTT_ERR_SUCCESS:
                    try:
                        info.wait_for_publish(remaining)
                    except RuntimeError:
                        break
        self._client.disconnect()
        self._client.loop_stop()
        self.connected.clear()

    # ---- paho callbacks: network thread, nothing blocking ---------------------------

    def _on_connect(self, client: paho.Client, _userdata: Any, flags: Any,
                    reason: Any, _props: Any) -> None:
        if reason.is_failure:
            logger.warning("broker refused the connection: %s", reason)
            return
        self._new_link()
        self.connects += 1
        logger.info("connected to the broker (session present: %s)", flags.session_present)
        if self.v5:
            # No Local: the broker does not echo the hub's own commands and views back
            # (two extra messages per alert). Retained views from an earlier run still
            # arrive on subscribe, which the hub needs to seed desks without a checkpoint.
            local = SubscribeOptions(qos=1, noLocal=True)
            client.subscribe([(f"{p}/+/+", local) for p in self.cfg.prefixes])
        else:
            client.subscribe([(f"{p}/+/+", 1) for p in self.cfg.prefixes])
        for prefix in self.cfg.prefixes:
            client.publish(protocol.hub_status_topic(prefix), HUB_ONLINE, qos=1, retain=True)
        self.connected.set()

    def _on_connect_fail(self, _client: paho.Client, _userdata: Any) -> None:
        # paho retries quietly and does not say why; say it, once a minute at most.
        now = time.monotonic()
        if now - self._last_fail_log < FAIL_LOG_EVERY_S:
            return
        self._last_fail_log = now
        logger.warning("cannot connect to the broker at %s:%d: %s; retrying", self.cfg.host,
                       self.cfg.port, self._diagnose())

    def _diagnose(self) -> str:
        """Repeat the connection by hand to learn why it failed (paho keeps the reason)."""
        try:
            sock = socket.create_connection((self.cfg.host, self.cfg.port),
                                            timeout=DIAGNOSE_TIMEOUT_S)
        except OSError as exc:
            return exc.strerror or str(exc)
        with sock:
            if self._tls is None:
                return "the broker closed the connection"
            try:
                with self._tls.wrap_socket(sock, server_hostname=self.cfg.host):
                    return "the broker closed the TLS connection"
            except ssl.SSLCertVerificationError as exc:
                return f"TLS: the broker's certificate is not trusted ({exc.verify_message})"
            except ssl.SSLError as exc:
                return f"TLS handshake failed ({exc.reason or exc})"
            except OSError as exc:
                return f"TLS handshake failed ({exc.strerror or exc})"

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any,
                       reason: Any, _props: Any) -> None:
        self._new_link()
        self.connected.clear()
        logger.info("disconnected from the broker: %s", reason)

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        payload = msg.payload
        if len(payload) > self.limits.max_payload:
            self.on_drop("too_large")
            self._refuse(msg)  # refused for good: unacknowledged it would come back
            return
        inbound = Inbound(msg.topic, bytes(payload), bool(msg.retain), time.time(),
                          msg.mid, msg.qos, self._link)
        try:
            self.inbox.put_nowait(inbound)
        except queue.Full:
            # Only when the broker sends beyond the receive maximum (or, over 3.1.1,
            # beyond a max_inflight_messages set too high); the count says so.
            self.on_drop("queue_full")
            self._refuse(msg)

    def _refuse(self, msg: paho.MQTTMessage) -> None:
        """Acknowledge a dropped message with the owner thread's next batch.

        Acknowledging it here, at once, let mosquitto 2.0 exceed the receive
        maximum (seen in the flood test); all acknowledgements now go out from
        one thread, after a batch.
        """
        with self._link_lock:
            self._refused.append(Inbound(msg.topic, b"", retain=False, received=0.0,
                                         mid=msg.mid, qos=msg.qos, link=self._link))


def tls_context(cfg: MqttConfig) -> ssl.SSLContext:
    """Verify the broker against ``ca_file`` (or the system's CAs); offer a client cert if set."""
    files = {"ca_file": cfg.ca_file, "cert_file": cfg.cert_file, "key_file": cfg.key_file}
    for key, name in files.items():
        if name is not None and not Path(name).is_file():
            raise ConfigError([f"mqtt.{key}: cannot read {name!r} (no such file)"])
    try:
        context = ssl.create_default_context(cafile=cfg.ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"mqtt.ca_file: not a usable CA certificate ({exc})"]) from exc
    if cfg.cert_file is not None:
        try:
            context.load_cert_chain(cfg.cert_file, cfg.key_file)
        except (OSError, ssl.SSLError) as exc:
            msg = f"mqtt.cert_file/key_file: not a usable certificate and key ({exc})"
            raise ConfigError([msg]) from exc
    return context
