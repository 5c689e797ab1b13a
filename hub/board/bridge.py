"""The serial bridge: a USB-only board reaches MQTT through the host it is plugged into.

The bridge publishes each ``SL`` message exactly as a WiFi board would publish
it (topic, QoS and retain from docs/protocol.md), holds the desk's ``status``
with ``offline`` as its last will, and passes the desk's commands and the
hub's status back down the line. The desk id comes from ``--desk`` or from the
``desk`` key of the board's ``info`` message; the will needs it before the
broker connection can be made, so messages read until then are kept and sent
once connected.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
import time
from typing import Final

import paho.mqtt.client as paho

from hub import log as hublog
from hub.board.link import SerialLink
from hub.board.serial_lines import SerialMessage, mqtt_payload
from hub.config import MqttConfig
from hub.contract.protocol import DESK_ID, device_topic, hub_status_topic, parse_payload
from hub.errors import DeviceError, ProtocolError
from hub.mqtt import paho as broker

logger = logging.getLogger(__name__)

#: kind -> (QoS, retained), as a WiFi board publishes them.
PUBLISH_RULES: Final = {
    "status": (1, True),
    "occupancy": (1, True),
    "telemetry": (0, False),
    "button": (1, False),
    "info": (1, True),
    "ack": (1, False),
}
MAX_PENDING: Final = 500
NUDGE_EVERY_S: Final = 5.0


def desk_from_info(message: SerialMessage) -> str | None:
    """The desk id an ``info`` message names, if it names a valid one."""
    if message.kind != "info" or not isinstance(message.payload, dict):
        return None
    desk = message.payload.get("desk")
    return desk if isinstance(desk, str) and DESK_ID.match(desk) else None


class SerialBridge:
    """Moves messages between one board's serial link and the broker until told to stop."""

    def __init__(
        self,
        link: SerialLink,
        mqtt: MqttConfig,
        prefix: str,
        desk: str | None = None,
        *,
        desk_wait_s: float = 60.0,
    ) -> None:
        if desk is not None and not DESK_ID.match(desk):
            raise DeviceError(f"desk id {desk!r} must match {DESK_ID.pattern}")
        self.link = link
        self.mqtt = mqtt
        self.prefix = prefix
        self.desk = desk
        self.desk_wait_s = desk_wait_s
        self.published = 0
        self.ready = threading.Event()
        self._pending: collections.deque[SerialMessage] = collections.deque(maxlen=MAX_PENDING)
        self._client: paho.Client | None = None

    def run(self, stop: threading.Event) -> None:
        """Learn the desk, connect, then forward both ways until ``stop`` is set."""
        self.link.send("hub", "offline")  # true until the broker says otherwise
        desk = self.desk or self._learn_desk(stop)
        if desk is None:
            return
        self.desk = desk
        client = self._connect(desk)
        try:
            while self._pending:
                self._publish(self._pending.popleft())
            self.ready.set()
            while not stop.is_set():
                _line, message = self.link.read_message(0.3)
                if message is not None:
                    self._publish(message)
        finally:
            self._say_offline(client, desk)

    def _learn_desk(self, stop: threading.Event) -> str | None:
        """Ask the board to introduce itself and keep what it says meanwhile.

        The board's boot-time ``info`` is usually gone (pyserial drops unread input
        when it opens the port), so the bridge sends the hub's status as it stands -
        offline, since nothing connects the board to a hub yet - and the board
        answers a ``hub`` line with its ``info``, as it does on every connect.
        """
        deadline = time.monotonic() + self.desk_wait_s
        next_nudge = deadline - self.desk_wait_s + NUDGE_EVERY_S
        while not stop.is_set():
            now = time.monotonic()
            if now >= next_nudge:
                self.link.send("hub", "offline")
                next_nudge = now + NUDGE_EVERY_S
            if now >= deadline:
                raise DeviceError(
                    f"the board on {self.link.name} sent no info message with its desk id "
                    f"within {self.desk_wait_s:g} s; pass --desk"
                )
            _line, message = self.link.read_message(0.3)
            if message is None:
                continue
            desk = desk_from_info(message)
            self._pending.append(message)
            if desk is not None:
                logger.info("board on %s is desk %s", self.link.name, desk, extra=hublog.desk(desk))
                return desk
        return None

    def _connect(self, desk: str) -> paho.Client:
        client = broker.make_client(self.mqtt, broker.unique_id(f"bridge-{desk}"))
        status = device_topic(self.prefix, desk, "status")
        client.will_set(status, "offline", qos=1, retain=True)
        cmd_topic = device_topic(self.prefix, desk, "cmd")
        hub_topic = hub_status_topic(self.prefix)

        def on_connect(
            c: paho.Client, _u: object, _f: object, rc: object, _p: object = None
        ) -> None:
            if getattr(rc, "is_failure", False):
                return
            c.publish(status, "online", qos=1, retain=True)
            c.subscribe([(cmd_topic, 1), (hub_topic, 1)])

        def on_message(_c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
            try:
                self._down(msg, cmd_topic, hub_topic, desk)
            except DeviceError:
                logger.exception("could not pass a message to the board", extra=hublog.desk(desk))

        client.on_connect = on_connect
        client.on_message = on_message
        broker.connect(client, self.mqtt)
        self._client = client
        return client

    def _down(self, msg: paho.MQTTMessage, cmd_topic: str, hub_topic: str, desk: str) -> None:
        """Broker to board: commands (never retained ones) and the hub's status."""
        if msg.topic == cmd_topic:
            if msg.retain:
                logger.warning("ignored a retained command", extra=hublog.desk(desk))
                return
            try:
                body = json.loads(bytes(msg.payload).decode("utf-8"))
            except ValueError:
                logger.warning("ignored a command that is not JSON", extra=hublog.desk(desk))
                return
            if not isinstance(body, dict):
                logger.warning("ignored a command that is not an object", extra=hublog.desk(desk))
                return
            self.link.send("cmd", body)
        elif msg.topic == hub_topic:
            text = bytes(msg.payload).decode("utf-8", "replace").strip()
            if text in ("online", "offline"):
                self.link.send("hub", text)

    def _publish(self, message: SerialMessage) -> None:
        """Board to broker, checked against the contract so garbage never reaches the hub."""
        desk = self.desk or ""
        rule = PUBLISH_RULES.get(message.kind)
        if rule is None:
            logger.debug("not published: %s line", message.kind, extra=hublog.desk(desk))
            return
        try:
            payload = mqtt_payload(message)
            parse_payload(desk, message.kind, payload)
        except ProtocolError as exc:
            logger.warning(
                "dropped a %s message from the board: %s",
                message.kind,
                exc.reason,
                extra=hublog.desk(desk),
            )
            return
        named = desk_from_info(message)
        if named not in (None, desk):
            logger.warning(
                "the board calls itself %s; publishing as %s (--desk)",
                named,
                desk,
                extra=hublog.desk(desk),
            )
        if self._client is None:
            return
        qos, retain = rule
        self._client.publish(
            device_topic(self.prefix, desk, message.kind), payload, qos=qos, retain=retain
        )
        self.published += 1

    def _say_offline(self, client: paho.Client, desk: str) -> None:
        """A clean stop is not a crash, so the will would not fire: say offline ourselves."""
        try:
            info = client.publish(
                device_topic(self.prefix, desk, "status"), "offline", qos=1, retain=True
            )
            info.wait_for_publish(5)
        except (RuntimeError, ValueError):
            logger.warning("could not publish offline", extra=hublog.desk(desk))
        client.disconnect()
        client.loop_stop()


def run_bridge(
    link: SerialLink,
    mqtt: MqttConfig,
    prefix: str,
    desk: str | None,
    stop: threading.Event | None = None,
) -> None:
    """Run until interrupted (or ``stop``), closing the port at the end."""
    try:
        SerialBridge(link, mqtt, prefix, desk).run(stop or threading.Event())
    finally:
        link.close()
