"""The discovery configs of one desk: Home Assistant's entities, device and unique ids.

Per desk, retained per-entity configs go under
``homeassistant/<component>/sitless_<node>/<key>/config`` (docs/homeassistant.md
lists them): the seat, the desk's state as an ``enum``, the bout's start as a
``timestamp``, the alert level, ``event`` entities for the hub's alerts,
snoozes and pauses and for the chair's button, identify, re-tare, pause and
resume buttons (``ha_asking``: they ask the hub through ``P/D/request``), and
diagnostic entities from the chair's telemetry and info, "needs re-tare" among
them. Pure: ``homeassistant.Discovery`` publishes what this returns.

Entities the chair feeds are available while its ``P/D/status`` is ``online``;
those from the hub's view while the hub's ``P/_hub/status`` is. The device
block carries the chair's firmware, board and MAC (from its retained
``P/D/info``) and, when configured, a link to the status page.

Unique ids: the node is ``sitless_`` plus the desk id with ``-`` and ``_``
swapped, so ``desk-1`` keeps the ``sitless_desk_1`` of earlier releases and
``desk_1`` becomes ``sitless_desk-1``: two desks can no longer share one. A
desk with ``_`` in its id had the old id only if no hyphen twin exists; for it
the announcer clears the old configs (``LEGACY_KEYS``) once, so Home Assistant
removes the stale entities.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub import __version__
from hub.config import TareConfig
from hub.contract import protocol
from hub.contract.vocabulary import STATES
from hub.integrations import ha_asking

DISCOVERY_PREFIX = "homeassistant"
SWAP = str.maketrans("-_", "_-")
DEFAULT_MAX_DRIFT = TareConfig().max_drift
# The configs earlier releases published under the old, shared node id.
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
