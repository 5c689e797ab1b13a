"""Home Assistant entities that ask the hub for something, and the re-tare sensor.

The buttons publish to the desk's ``P/D/request`` (the shipped ACL lets only
Home Assistant's login write it): identify, re-tare, pause and resume. Each
press carries a fresh id (the press time in milliseconds and a random tail),
and the hub sends the chair's command under that id, so the chair's ack is
matched to the press instead of counted as unknown; a request delivered twice
is acted on once. Pause and resume act on the hub's view, so they are
available while the hub is; identify and re-tare need the chair (which
refuses a tare while someone sits). Re-tare is a configuration entity: it
changes what the chair counts as an empty seat.

"Needs re-tare" reads the chair's telemetry with the desk's ``max_drift`` (the
hub's rule, ``hub.core.drift``): on when the reported drift is larger, either
way; unknown when the chair reports no drift.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# A fresh id at every press: milliseconds and a random tail (two presses in one millisecond).
_ID = "ha-{{ (now().timestamp() * 1000) | int }}-{{ range(1000, 10000) | random }}"


def request_template(action: str) -> str:
    """The ``command_template`` of a button that asks the hub for ``action``."""
    return '{"id": "' + _ID + '", "action": "' + action + '"}'


def retare_template(max_drift: float) -> str:
    """ON beyond ``max_drift`` either way, OFF within, unknown without a reported drift."""
    return (
        "{% if value_json.drift is not defined or value_json.drift is none %}None"
        f"{{% elif (value_json.drift | float | abs) > {max_drift!r} %}}ON"
        "{% else %}OFF{% endif %}"
    )


def entities(
    topic: Callable[[str], str],
    chair: list[dict[str, str]],
    hub: list[dict[str, str]],
    max_drift: float,
) -> dict[tuple[str, str], dict[str, Any]]:
    """The identify, re-tare, pause and resume buttons and the re-tare sensor of one desk."""

    def button(name: str, action: str, available: list[dict[str, str]]) -> dict[str, Any]:
        return {
            "name": name,
            "command_topic": topic("request"),
            "command_template": request_template(action),
            "qos": 1,
            "retain": False,
            "availability": available,
        }

    return {
        ("button", "buzz"): {**button("Identify", "identify", chair), "device_class": "identify"},
        ("button", "tare"): {
            **button("Re-tare", "tare", chair),
            "entity_category": "config",
            "icon": "mdi:scale-balance",
        },
        ("button", "pause"): {**button("Pause alerts", "pause", hub), "icon": "mdi:pause-circle"},
        ("button", "resume"): {**button("Resume alerts", "resume", hub), "icon": "mdi:play-circle"},
        ("binary_sensor", "retare"): {
            "name": "Needs re-tare",
            "device_class": "problem",
            "entity_category": "diagnostic",
            "state_topic": topic("telemetry"),
            "value_template": retare_template(max_drift),
            "payload_on": "ON",
            "payload_off": "OFF",
            "availability": chair,
        },
    }
