"""Home Assistant MQTT discovery, published by the hub for every desk it knows.

The hub publishes, not the chair: it knows every desk (configured or seen),
it owns the bout time that one of the entities shows, and a board keeps its
RAM for the signal path. Per desk, three retained per-entity configs go under
``homeassistant/``:

- ``binary_sensor/sitless_<desk>/occupancy/config``: ``device_class: occupancy``
  from the chair's own ``P/D/occupancy``;
- ``sensor/sitless_<desk>/bout/config``: the bout time from the hub's
  ``P/D/sitting``, in seconds;
- ``button/sitless_<desk>/buzz/config``: sends ``identify`` to ``P/D/cmd``
  (blink and chirp), never retained.

Each carries availability (the chair's ``P/D/status``, and for the bout time
also the hub's ``P/_hub/status``) and one shared device block, so Home
Assistant groups them as one chair. Everything is re-sent when Home Assistant
announces ``online`` on ``homeassistant/status`` (it forgets non-retained
state when it restarts, and a broker may have lost retained messages).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from typing import Any

import paho.mqtt.client as paho

from hub import __version__
from hub.config import HubConfig
from hub.contract import protocol
from hub.errors import ProtocolError, SitlessError
from hub.mqtt.paho import make_client

logger = logging.getLogger(__name__)

DISCOVERY_PREFIX = "homeassistant"
HA_STATUS_TOPIC = f"{DISCOVERY_PREFIX}/status"


def object_id(desk: str) -> str:
    """The node id of a desk in Home Assistant topics and unique ids."""
    return f"sitless_{desk.replace('-', '_')}"


def configs(
    prefix: str, desk: str, *, area: str | None = None, discovery_prefix: str = DISCOVERY_PREFIX
) -> dict[str, dict[str, Any]]:
    """Every discovery topic of one desk and its JSON config."""
    node = object_id(desk)
    device_status = protocol.device_topic(prefix, desk, "status")
    hub_status = protocol.hub_status_topic(prefix)
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": f"Chair {desk}",
        "manufacturer": "sitless",
        "model": "sitless chair sensor",
        "sw_version": __version__,
    }
    if area:
        device["suggested_area"] = area
    origin = {"name": "sitless hub", "sw_version": __version__}
    chair_available = [
        {"topic": device_status, "payload_available": "online", "payload_not_available": "offline"}
    ]
    hub_available = [
        {"topic": hub_status, "payload_available": "online", "payload_not_available": "offline"}
    ]
    base = discovery_prefix
    return {
        f"{base}/binary_sensor/{node}/occupancy/config": {
            "name": "Seat",
            "unique_id": f"{node}_occupancy",
            "device_class": "occupancy",
            "state_topic": protocol.device_topic(prefix, desk, "occupancy"),
            "value_template": "{{ 'ON' if value_json.seated else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "availability": chair_available,
            "device": device,
            "origin": origin,
        },
        f"{base}/sensor/{node}/bout/config": {
            "name": "Sitting bout",
            "unique_id": f"{node}_bout",
            "device_class": "duration",
            "unit_of_measurement": "s",
            "state_class": "measurement",
            "icon": "mdi:seat-recline-normal",
            "state_topic": protocol.device_topic(prefix, desk, "sitting"),
            "value_template": "{{ value_json.seated_s }}",
            "json_attributes_topic": protocol.device_topic(prefix, desk, "sitting"),
            "availability": chair_available + hub_available,
            "availability_mode": "all",
            "device": device,
            "origin": origin,
        },
        f"{base}/button/{node}/buzz/config": {
            "name": "Buzz",
            "unique_id": f"{node}_buzz",
            "icon": "mdi:bell-ring",
            "command_topic": protocol.device_topic(prefix, desk, "cmd"),
            "payload_press": json.dumps(
                {"id": "ha-buzz", "action": "identify"}, separators=(",", ":")
            ),
            "qos": 1,
            "retain": False,
            "availability": chair_available,
            "device": device,
            "origin": origin,
        },
    }


class Discovery:
    """Keeps Home Assistant's discovery configs current for every desk the hub knows.

    It runs its own small MQTT connection so it stays independent of the hub's
    session: it learns desks from ``P/+/status`` and the configuration, and
    answers Home Assistant's ``online`` birth message by publishing again.
    """

    def __init__(
        self,
        cfg: HubConfig,
        host: str | None = None,
        port: int | None = None,
        *,
        discovery_prefix: str = DISCOVERY_PREFIX,
    ) -> None:
        self.cfg = cfg
        self.host = host or cfg.mqtt.host
        self.port = port or cfg.mqtt.port
        self.discovery_prefix = discovery_prefix
        self.published = 0
        self._known: dict[str, str] = {}  # desk -> prefix
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self._client = make_client(cfg.mqtt, f"{cfg.mqtt.client_id}-discovery"[:64])
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        for desk in cfg.desks:
            self._known[desk] = cfg.mqtt.prefixes[0]

    def start(self, timeout: float = 10.0) -> Discovery:
        """Connect and publish for every configured desk."""
        try:
            self._client.connect(self.host, self.port, keepalive=int(self.cfg.mqtt.keepalive))
        except OSError as exc:
            msg = f"discovery cannot reach the MQTT broker at {self.host}:{self.port}"
            raise SitlessError(msg) from exc
        self._client.loop_start()
        if not self._connected.wait(timeout):
            self._client.loop_stop()
            msg = f"the MQTT broker at {self.host}:{self.port} did not accept discovery"
            raise SitlessError(msg)
        return self

    def stop(self) -> None:
        """Disconnect; the retained configs stay so Home Assistant keeps the entities."""
        self._client.disconnect()
        self._client.loop_stop()

    def desks(self) -> list[str]:
        """Every desk announced so far."""
        with self._lock:
            return sorted(self._known)

    def announce(self, desks: Iterable[str] | None = None) -> None:
        """Publish the configs of some desks (all known desks by default)."""
        with self._lock:
            chosen = (
                dict(self._known)
                if desks is None
                else {d: self._known.get(d, self.cfg.mqtt.prefixes[0]) for d in desks}
            )
        for desk, prefix in sorted(chosen.items()):
            where = self.cfg.desk(desk)
            area = where.zone if where.zone != "default" else None
            for topic, body in configs(
                prefix, desk, area=area, discovery_prefix=self.discovery_prefix
            ).items():
                self._client.publish(
                    topic, json.dumps(body, separators=(",", ":")), qos=1, retain=True
                )
                self.published += 1
            logger.debug("announced to Home Assistant", extra={"desk": desk})

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            logger.warning("broker refused the discovery connection: %s", reason)
            return
        subs = [(HA_STATUS_TOPIC, 1)] + [(f"{p}/+/status", 1) for p in self.cfg.mqtt.prefixes]
        client.subscribe(subs)
        self.announce()
        self._connected.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if msg.topic == HA_STATUS_TOPIC:
            if bytes(msg.payload).strip() == b"online":
                self.announce()
            return
        try:
            where = protocol.split_topic(msg.topic, self.cfg.mqtt.prefixes)
        except ProtocolError:
            return
        if where.desk == protocol.HUB_LEVEL:
            return
        with self._lock:
            new = where.desk not in self._known
            if new:
                self._known[where.desk] = where.prefix
        if new:
            self.announce([where.desk])
