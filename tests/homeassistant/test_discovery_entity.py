"""A retained MQTT discovery config becomes an entity in a real Home Assistant.

Real: Home Assistant core (its own virtual environment, onboarded through its
REST API, MQTT added through the config flow), a private mosquitto, a paho
client publishing the config and the state. Nothing is stood in; this test
checks the tier's own plumbing before the hub's entities are tested.
"""

from __future__ import annotations

import json

import pytest

from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_a_retained_config_published_before_home_assistant_connects_makes_an_entity(
    home_assistant, private_mosquitto
):
    """The config is on the broker before HA's MQTT connects; HA picks it up from the
    retained message, registers the entity under its unique id and shows its state."""
    client = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    try:
        client.publish(
            "homeassistant/binary_sensor/plumbing/seat/config",
            json.dumps(
                {
                    "name": "Seat",
                    "unique_id": "plumbing_seat",
                    "device_class": "occupancy",
                    "state_topic": "plumbing/seat",
                    "device": {"identifiers": ["plumbing"], "name": "Plumbing chair"},
                }
            ),
            retain=True,
        )
        client.publish("plumbing/seat", "ON", retain=True)
        home_assistant.add_mqtt(private_mosquitto.host, private_mosquitto.port)

        entity = wait_until(
            lambda: next(
                (e for e in home_assistant.entities() if e["unique_id"] == "plumbing_seat"), None
            ),
            timeout=30,
            what="the entity in the registry",
        )
        assert entity["entity_id"] == "binary_sensor.plumbing_chair_seat"
        # The entity appears first as "unknown", then the retained state arrives.
        state = wait_until(
            lambda: (
                (s := home_assistant.states().get(entity["entity_id"]))
                and s["state"] != "unknown"
                and s
            ),
            timeout=15,
            what="the entity's state",
        )
        assert state["state"] == "on"
        assert state["attributes"]["device_class"] == "occupancy"
        device = next(d for d in home_assistant.devices() if d["id"] == entity["device_id"])
        assert device["name"] == "Plumbing chair"

        client.publish("plumbing/seat", "OFF", retain=True)
        wait_until(
            lambda: home_assistant.states()[entity["entity_id"]]["state"] == "off",
            timeout=15,
            what="the state to follow MQTT",
        )
    finally:
        client.close()
