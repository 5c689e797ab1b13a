"""Home Assistant MQTT discovery, published by the hub for every desk it knows.

The hub publishes, not the chair: it knows every desk (configured or seen),
it owns the sitting view most entities show, and a board keeps its RAM for
the signal path. Per desk, retained per-entity configs go under
``homeassistant/<component>/sitless_<node>/<key>/config`` (docs/homeassistant.md
lists them): the seat, the desk's state as an ``enum``, the bout's start as a
``timestamp``, the alert level, ``event`` entities for the hub's alerts,
snoozes and pauses and for the chair's button, identify, pause and resume
buttons (``ha_asking``: they ask the hub through ``P/D/request``), and
diagnostic entities from the chair's telemetry and info, "needs re-tare" among them.

Entities the chair feeds are available while its ``P/D/status`` is ``online``;
those from the hub's view while the hub's ``P/_hub/status`` is. The device
block carries the chair's firmware, board and MAC (from its retained
``P/D/info``) and, when configured, a link to the status page.

Unique ids: the node is ``sitless_`` plus the desk id with ``-`` and ``_``
swapped, so ``desk-1`` keeps the ``sitless_desk_1`` of earlier releases and
``desk_1`` becomes ``sitless_desk-1``: two desks can no longer share one. A
desk with ``_`` in its id had the old id only if no hyphen twin exists; for it
the old configs are cleared once, so Home Assistant removes the stale entities.

Everything is re-sent when Home Assistant announces ``online`` on
``homeassistant/status`` (it forgets non-retained state when it restarts, and a
broker may have lost retained messages), and a desk's configs when its info
changes. A desk is announced a moment after it is first heard of, once its
retained info has had time to arrive: Home Assistant treats a changed config as
a new entity that has not seen the retained availability yet, so announcing
twice at start would leave the chair's entities unavailable.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho

from hub import __version__
from hub.config import HubConfig, TareConfig
from hub.contract import protocol
from hub.contract.vocabulary import STATES
from hub.core.drift import limit_for
from hub.errors import ProtocolError, SitlessError
from hub.integrations import ha_asking
from hub.mqtt.paho import make_client

logger = logging.getLogger(__name__)

DISCOVERY_PREFIX = "homeassistant"
HA_STATUS_TOPIC = f"{DISCOVERY_PREFIX}/status"
SWAP = str.maketrans("-_", "_-")
SETTLE_S = 1.0  # wait for retained status and info before announcing
DEFAULT_MAX_DRIFT = TareConfig().max_drift
LEGACY_KEYS = (("binary_sensor", "occupancy"), ("sensor", "bout"), ("button", "buzz"))

# Jinja for Home Assistant: a unix time (or null) as an ISO timestamp in UTC.
_ISO = "timestamp_custom('%Y-%m-%dT%H:%M:%S+00:00', false)"
_SINCE = f"{{{{ value_json.since | {_ISO} if value_json.since is not none else 'None' }}}}"
_LAST_SEEN = f"{{{{ (value_json.ts or now().timestamp()) | {_ISO} }}}}"
_ALERTS = (
    "{% set s = value_json.state %}"
    '{% if s == "alerting" %}{"event_type": "alert", "level": {{ value_json.level }}}'
    '{% elif s == "snoozed" %}{"event_type": "snooze"}'
    '{% elif s == "paused" %}{"event_type": "pause"}'
    "{% else %}None{% endif %}"
)
_PRESS = '{"event_type": "press_{{ value_json.press }}"}'


def node_id(desk: str) -> str:
    """The node id of a desk in discovery topics and unique ids (one per desk id)."""
    return f"sitless_{desk.translate(SWAP)}"


def legacy_node_id(desk: str) -> str:
    """The node id earlier releases used (``desk-1`` and ``desk_1`` shared it)."""
    return f"sitless_{desk.replace('-', '_')}"


@dataclass(frozen=True, slots=True)
class ChairInfo:
    """What a chair said about itself, for the device block."""

    fw: str
    board: str
    sensor: str
    mac: str


def _available(topic: str) -> list[dict[str, str]]:
    return [{"topic": topic, "payload_available": "online", "payload_not_available": "offline"}]


def _device(
    node: str, desk: str, area: str | None, info: ChairInfo | None, status_url: str | None
) -> dict[str, Any]:
    device: dict[str, Any] = {
        "identifiers": [node],
        "name": f"Chair {desk}",
        "manufacturer": "sitless",
        "model": "sitless chair sensor",
    }
    if info is not None:
        device["model"] = f"sitless chair sensor ({info.sensor})"
        device["sw_version"] = info.fw
        device["hw_version"] = info.board
        device["connections"] = [["mac", info.mac.lower()]]
    if area:
        device["suggested_area"] = area
    if status_url:
        device["configuration_url"] = status_url
    return device


def configs(  # noqa: PLR0913 - each is one part of a desk's announcement
    prefix: str,
    desk: str,
    *,
    area: str | None = None,
    info: ChairInfo | None = None,
    status_url: str | None = None,
    discovery_prefix: str = DISCOVERY_PREFIX,
    max_drift: float = DEFAULT_MAX_DRIFT,
) -> dict[str, dict[str, Any]]:
    """Every discovery topic of one desk and its JSON config."""
    node = node_id(desk)

    def topic(kind: str) -> str:
        return protocol.device_topic(prefix, desk, kind)

    chair = _available(topic("status"))
    hub = _available(protocol.hub_status_topic(prefix))
    shared = {
        "device": _device(node, desk, area, info, status_url),
        "origin": {"name": "sitless hub", "sw_version": __version__},
    }
    sitting, telemetry = topic("sitting"), topic("telemetry")
    diagnostic = {"entity_category": "diagnostic", "availability": chair}
    entities: dict[tuple[str, str], dict[str, Any]] = {
        ("binary_sensor", "occupancy"): {
            "name": "Seat",
            "device_class": "occupancy",
            "state_topic": topic("occupancy"),
            "value_template": "{{ 'ON' if value_json.seated else 'OFF' }}",
            "payload_on": "ON",
            "payload_off": "OFF",
            "availability": chair,
        },
        ("sensor", "state"): {
            "name": "State",
            "device_class": "enum",
            "options": list(STATES),
            "icon": "mdi:seat-recline-normal",
            "state_topic": sitting,
            "value_template": "{{ value_json.state }}",
            "json_attributes_topic": sitting,
            "json_attributes_template": (
                "{{ {'seated_s': value_json.seated_s, 'level': value_json.level} | tojson }}"
            ),
            "availability": hub,
        },
        ("sensor", "bout"): {
            "name": "Sitting since",
            "device_class": "timestamp",
            "icon": "mdi:timer-sand",
            "state_topic": sitting,
            "value_template": _SINCE,
            "availability": hub,
        },
        ("sensor", "level"): {
            "name": "Alert level",
            "icon": "mdi:alarm-light",
            "state_topic": sitting,
            "value_template": "{{ value_json.level }}",
            "availability": hub,
        },
        ("event", "alerts"): {
            "name": "Alerts",
            "icon": "mdi:bell-alert",
            "event_types": ["alert", "snooze", "pause"],
            "state_topic": sitting,
            "value_template": _ALERTS,
            "availability": hub,
        },
        ("event", "button"): {
            "name": "Button",
            "device_class": "button",
            "event_types": ["press_short", "press_long"],
            "state_topic": topic("button"),
            "value_template": _PRESS,
            "availability": chair,
        },
        ("sensor", "rssi"): {
            "name": "Signal strength",
            "device_class": "signal_strength",
            "unit_of_measurement": "dBm",
            "state_class": "measurement",
            "state_topic": telemetry,
            "value_template": "{{ value_json.rssi if value_json.rssi is not none else 'None' }}",
            **diagnostic,
        },
        ("sensor", "heap"): {
            "name": "Free memory",
            "device_class": "data_size",
            "unit_of_measurement": "B",
            "state_class": "measurement",
            "state_topic": telemetry,
            "value_template": "{{ value_json.heap_free }}",
            **diagnostic,
        },
        ("sensor", "uptime"): {
            "name": "Uptime",
            "device_class": "duration",
            "unit_of_measurement": "s",
            "state_topic": telemetry,
            "value_template": "{{ (value_json.uptime_ms / 1000) | round(0) | int }}",
            **diagnostic,
        },
        ("sensor", "seen"): {
            "name": "Last seen",
            "device_class": "timestamp",
            "state_topic": telemetry,
            "value_template": _LAST_SEEN,
            **diagnostic,
        },
        ("sensor", "drift"): {
            "name": "Baseline drift",
            "icon": "mdi:scale-balance",
            "state_class": "measurement",
            "state_topic": telemetry,
            "value_template": "{{ value_json.drift if value_json.drift is defined else 'None' }}",
            **diagnostic,
        },
        ("sensor", "firmware"): {
            "name": "Firmware",
            "icon": "mdi:chip",
            "state_topic": topic("info"),
            "value_template": "{{ value_json.fw }}",
            **diagnostic,
        },
    }
    entities.update(ha_asking.entities(topic, chair, hub, max_drift))
    return {
        f"{discovery_prefix}/{component}/{node}/{key}/config": {
            **body,
            "unique_id": f"{node}_{key}",
            **shared,
        }
        for (component, key), body in entities.items()
    }


def announced(cfg: HubConfig, desk: str) -> bool:
    """Whether discovery may announce this desk.

    ``homeassistant.desks`` lists the desks to announce. Unset, every desk is
    announced under ``privacy = "desk"`` and none under ``"aggregate"``: a Home
    Assistant that shows every chair is a view of each person's sitting, so in
    that mode only a person's own setup, configured with their desk, gets one.
    """
    chosen = cfg.homeassistant.desks
    if chosen is not None:
        return desk in chosen
    return cfg.history.privacy != "aggregate"


class Discovery:
    """Keeps Home Assistant's discovery configs current for every desk the hub knows.

    It runs its own small MQTT connection so it stays independent of the hub's
    session: it learns desks from ``P/+/status`` and the configuration, chairs'
    firmware and MAC from ``P/+/info``, and answers Home Assistant's ``online``
    birth message by publishing again. A broker that takes client ids from
    logins needs ``homeassistant.username``, a login apart from the hub's.
    """

    def __init__(
        self,
        cfg: HubConfig,
        host: str | None = None,
        port: int | None = None,
        *,
        discovery_prefix: str | None = None,
    ) -> None:
        self.cfg = cfg
        self.host = host or cfg.mqtt.host
        self.port = port or cfg.mqtt.port
        self.discovery_prefix = discovery_prefix or cfg.homeassistant.discovery_prefix
        self.status_topic = f"{self.discovery_prefix}/status"
        self.published = 0
        self._known: dict[str, str] = {}  # desk -> prefix
        self._info: dict[str, ChairInfo] = {}
        self._cleared: set[str] = set()
        self._withheld: set[str] = set()
        self._due: set[str] = set()
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._connected = threading.Event()
        mqtt = cfg.mqtt
        if cfg.homeassistant.username is not None:
            mqtt = mqtt.model_copy(update={"username": cfg.homeassistant.username})
        self._client = make_client(mqtt, f"{cfg.mqtt.client_id}-discovery"[:64])
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        for desk in cfg.desks:
            self._known[desk] = cfg.mqtt.prefixes[0]

    def start(self, timeout: float = 10.0) -> Discovery:
        """Connect and publish for every configured desk."""
        if self.cfg.history.privacy == "aggregate" and self.cfg.homeassistant.desks is None:
            logger.warning(
                "privacy is aggregate: Home Assistant discovery announces no desk "
                "(list a person's own desk in homeassistant.desks for their own setup)"
            )
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
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
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
            info = dict(self._info)
            known = set(self._known)
        for desk, prefix in sorted(chosen.items()):
            if not announced(self.cfg, desk):
                self._withhold(desk, prefix, known)
                continue
            where = self.cfg.desk(desk)
            area = where.zone if where.zone != "default" else None
            bodies = configs(
                prefix,
                desk,
                area=area,
                info=info.get(desk),
                status_url=self.cfg.homeassistant.status_url,
                discovery_prefix=self.discovery_prefix,
                max_drift=limit_for(self.cfg, desk),
            )
            for topic, body in bodies.items():
                self._publish(topic, json.dumps(body, separators=(",", ":")))
            self._clear_legacy(desk, known)
            logger.debug("announced to Home Assistant", extra={"desk": desk})

    def _soon(self, desks: Iterable[str]) -> None:
        """Announce these desks after ``SETTLE_S``, together with any others due."""
        with self._lock:
            self._due.update(desks)
            if self._timer is None:
                self._timer = threading.Timer(SETTLE_S, self._announce_due)
                self._timer.daemon = True
                self._timer.start()

    def _announce_due(self) -> None:
        with self._lock:
            due, self._due, self._timer = self._due, set(), None
        self.announce(due)

    def _withhold(self, desk: str, prefix: str, known: set[str]) -> None:
        """Empty, once, the configs an earlier run may have left for a desk not announced now."""
        if desk in self._withheld:
            return
        self._withheld.add(desk)
        for topic in configs(prefix, desk, discovery_prefix=self.discovery_prefix):
            self._publish(topic, "")
        self._clear_legacy(desk, known)
        logger.debug("not announced to Home Assistant", extra={"desk": desk})

    def _clear_legacy(self, desk: str, known: set[str]) -> None:
        """Empty the configs an earlier release kept under this desk's old, shared node id."""
        old = legacy_node_id(desk)
        if old == node_id(desk) or desk in self._cleared or desk.replace("_", "-") in known:
            return  # the id did not change, or its hyphen twin now owns the old node
        self._cleared.add(desk)
        for component, key in LEGACY_KEYS:
            self._publish(f"{self.discovery_prefix}/{component}/{old}/{key}/config", "")

    def _publish(self, topic: str, payload: str) -> None:
        self._client.publish(topic, payload, qos=1, retain=True)
        self.published += 1

    def _on_connect(
        self, client: paho.Client, _u: Any, _f: Any, reason: Any, _p: Any = None
    ) -> None:
        if reason.is_failure:
            logger.warning("broker refused the discovery connection: %s", reason)
            return
        subs = [(self.status_topic, 1)]
        for p in self.cfg.mqtt.prefixes:
            subs += [(f"{p}/+/status", 1), (f"{p}/+/info", 1)]
        client.subscribe(subs)
        self._soon(self.desks())
        self._connected.set()

    def _on_message(self, _c: paho.Client, _u: Any, msg: paho.MQTTMessage) -> None:
        if msg.topic == self.status_topic:
            if bytes(msg.payload).strip() == b"online":
                self.announce()
            return
        try:
            where, message = protocol.parse(msg.topic, bytes(msg.payload), self.cfg.mqtt.prefixes)
        except ProtocolError:
            return
        with self._lock:
            changed = where.desk not in self._known
            self._known.setdefault(where.desk, where.prefix)
            if isinstance(message, protocol.Info):
                info = ChairInfo(message.fw, message.board, message.sensor, message.mac)
                changed = changed or self._info.get(where.desk) != info
                self._info[where.desk] = info
        if changed:
            self._soon([where.desk])
