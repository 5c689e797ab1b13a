"""Home Assistant discovery as the hub publishes it.

Real: a private mosquitto, the Discovery publisher's own paho connection, a
paho probe playing Home Assistant (reading configs, sending its birth message).
Stood in: Home Assistant itself; the checks follow its documented MQTT
discovery format (topic layout, required keys, retained configs, availability,
device block, re-send on ``homeassistant/status`` = ``online``).
"""

from __future__ import annotations

import json
import time

from hub import config
from hub.integrations.homeassistant import HA_STATUS_TOPIC, Discovery
from tests.support.mqttprobe import MqttProbe

PREFIX = "office"


def configs_seen(probe: MqttProbe) -> dict[str, list]:
    out: dict[str, list] = {}
    for m in probe.received():
        if m.topic.startswith("homeassistant/") and m.topic.endswith("/config"):
            out.setdefault(m.topic, []).append(m)
    return out


def wait_count(probe: MqttProbe, want: int, timeout: float = 15.0) -> dict[str, list]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = configs_seen(probe)
        if len(seen) >= want:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"saw {sorted(configs_seen(probe))}, wanted {want} topics")


def check_documented_keys(bodies, occ, bout, buzz):
    node = "sitless_desk_a"
    sensor = bodies[occ]
    assert sensor["device_class"] == "occupancy"
    assert sensor["state_topic"] == f"{PREFIX}/desk-a/occupancy"
    assert {sensor["payload_on"], sensor["payload_off"]} == {"ON", "OFF"}
    assert "value_json.seated" in sensor["value_template"]
    assert bodies[bout]["state_topic"] == f"{PREFIX}/desk-a/sitting"
    assert bodies[bout]["unit_of_measurement"] == "s"
    assert bodies[bout]["device_class"] == "duration"
    assert bodies[buzz]["command_topic"] == f"{PREFIX}/desk-a/cmd"
    assert bodies[buzz]["retain"] is False
    press = json.loads(bodies[buzz]["payload_press"])
    assert press == {"id": "ha-buzz", "action": "identify"}

    unique = {b["unique_id"] for b in bodies.values()}
    assert len(unique) == 3
    for body in bodies.values():
        assert body["name"]
        assert body["device"]["identifiers"] == [node]
        assert body["device"]["name"] == "Chair desk-a"
        assert body["device"]["manufacturer"] == "sitless"
        assert body["device"]["suggested_area"] == "north"
        topics = [a["topic"] for a in body["availability"]]
        assert f"{PREFIX}/desk-a/status" in topics
        assert all(a["payload_available"] == "online" for a in body["availability"])
    assert f"{PREFIX}/_hub/status" in [a["topic"] for a in bodies[bout]["availability"]]
    assert bodies[bout]["availability_mode"] == "all"


def test_discovery_configs_follow_the_documented_format(private_mosquitto):
    """Retained per-entity configs with the documented keys, for configured desks and for
    desks seen online, published again when Home Assistant says it is online."""
    cfg = config.from_mapping(
        {
            "mqtt": {"url": f"mqtt://127.0.0.1:{private_mosquitto.port}", "prefix": PREFIX},
            "desks": {"desk-a": {"floor": "3", "zone": "north"}},
        }
    )
    ha = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    ha.subscribe("homeassistant/#")
    discovery = Discovery(cfg).start()
    late = None
    try:
        wait_count(ha, 3)
        # A subscriber arriving afterwards gets them from the broker: they are retained.
        late = MqttProbe(private_mosquitto.host, private_mosquitto.port)
        late.subscribe("homeassistant/#")
        seen = wait_count(late, 3)
        node = "sitless_desk_a"
        occ = f"homeassistant/binary_sensor/{node}/occupancy/config"
        bout = f"homeassistant/sensor/{node}/bout/config"
        buzz = f"homeassistant/button/{node}/buzz/config"
        assert set(seen) == {occ, bout, buzz}
        assert all(m.retain for msgs in seen.values() for m in msgs)
        bodies = {topic: msgs[-1].json() for topic, msgs in seen.items()}

        check_documented_keys(bodies, occ, bout, buzz)

        # A chair the configuration does not list is announced when it comes online.
        ha.publish(f"{PREFIX}/desk-b/status", "online", retain=True)
        seen = wait_count(ha, 6)
        assert "homeassistant/binary_sensor/sitless_desk_b/occupancy/config" in seen

        # Home Assistant restarts: its birth message brings every config again.
        ha.clear()
        ha.publish(HA_STATUS_TOPIC, "online")
        seen = wait_count(ha, 6)
        assert len(seen) == 6
        assert discovery.desks() == ["desk-a", "desk-b"]
    finally:
        discovery.stop()
        ha.close()
        if late is not None:
            late.close()
