"""The hub's MQTT connection: a persistent MQTT 5 session whose callback only enqueues.

The broker keeps our session (fixed client id, ``clean_start = false`` and a
session expiry) so events published while the hub restarts are delivered when
it comes back; paho's default would start clean on the first connect of every
process and lose them. Subscriptions are QoS 1 on ``P/+/+`` for every prefix.

paho runs every callback on its one network thread; anything slow there
stalls keepalives and acknowledgements. So ``on_message`` only copies the
message onto a bounded queue for the thread that owns desk state, and counts
what it has to drop. paho reconnects by itself with a backoff.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub import protocol
from hub.config import LimitsConfig, MqttConfig

logger = logging.getLogger(__name__)

HUB_ONLINE = b"online"
HUB_OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class Inbound:
    """One message as it came off the wire, with the hub's receive time."""

    topic: str
    payload: bytes
    retain: bool
    received: float


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
        self._client = self._make_client()

    def _make_client(self) -> paho.Client:
        cfg = self.cfg
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=cfg.client_id,
                             protocol=paho.MQTTv5)
        if cfg.username is not None:
            password = cfg.password.get_secret_value() if cfg.password else None
            client.username_pw_set(cfg.username, password)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_file, certfile=cfg.cert_file, keyfile=cfg.key_file,
                           tls_version=ssl.PROTOCOL_TLS_CLIENT)
        # One will per connection: it goes to the first prefix; stop() announces on all.
        client.will_set(protocol.hub_status_topic(cfg.prefixes[0]), HUB_OFFLINE, qos=1,
                        retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background; paho keeps retrying until the broker answers."""
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = int(self.cfg.session_expiry)
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=int(self.cfg.keepalive),
                                   clean_start=False, properties=props)
        self._client.loop_start()

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
        self.connects += 1
        logger.info("connected to the broker (session present: %s)", flags.session_present)
        client.subscribe([(f"{p}/+/+", 1) for p in self.cfg.prefixes])
        for prefix in self.cfg.prefixes:
            client.publish(protocol.hub_status_topic(prefix), HUB_ONLINE, qos=1, retain=True)
        self.connected.set()

    def _on_disconnect(self, _client: paho.Client, _userdata: Any, _flags: Any,
                       reason: Any, _props: Any) -> None:
        self.connected.clear()
        logger.info("disconnected from the broker: %s", reason)

    def _on_message(self, _client: paho.Client, _userdata: Any, msg: paho.MQTTMessage) -> None:
        payload = msg.payload
        if len(payload) > self.limits.max_payload:
            self.on_drop("too_large")
            return
        try:
            self.inbox.put_nowait(Inbound(msg.topic, bytes(payload), bool(msg.retain),
                                          time.time()))
        except queue.Full:
            self.on_drop("queue_full")
