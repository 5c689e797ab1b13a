"""Home Assistant discovery as the hub publishes it.

Real: a private mosquitto, the Discovery publisher's own paho connection, a
paho probe playing Home Assistant (reading configs, sending its birth message)
and the chairs (status, info). Stood in: Home Assistant itself; the checks
follow its documented MQTT discovery format. tests/homeassistant/ runs the same
configs through a real Home Assistant.
"""

from __future__ import annotations

import time

from hub import config
from hub.integrations.homeassistant import (
    HA_STATUS_TOPIC,
    Discovery,
    configs,
    legacy_node_id,
    node_id,
)
from tests.support.mqttprobe import MqttProbe

PREFIX = "office"
PER_DESK = len(configs(PREFIX, "x"))


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


def test_node_ids_cannot_collide_and_keep_the_old_id_of_hyphenated_desks():
    """desk-1 and desk_1 were one node; now each has its own, and desk-1 kept the old one."""
    assert node_id("desk-1") != node_id("desk_1")
    assert node_id("desk-1") == legacy_node_id("desk-1") == "sitless_desk_1"
    assert node_id("desk_1") == "sitless_desk-1"
    ids = {
        b["unique_id"]
        for d in ("desk-1", "desk_1", "a-b_c", "a_b-c")
        for b in configs("p", d).values()
    }
    assert len(ids) == 4 * PER_DESK


def test_every_entity_has_the_documented_keys():
    bodies = {
        t.split("/", 1)[1]: b
        for t, b in configs(PREFIX, "desk-a", area="north", status_url="http://hub:8080/").items()
    }
    node = "sitless_desk_a"
    assert set(bodies) == {
        f"binary_sensor/{node}/occupancy/config",
        f"sensor/{node}/state/config",
        f"sensor/{node}/bout/config",
        f"sensor/{node}/level/config",
        f"event/{node}/alerts/config",
        f"event/{node}/button/config",
        f"button/{node}/buzz/config",
        f"button/{node}/tare/config",
        f"button/{node}/pause/config",
        f"button/{node}/resume/config",
        f"binary_sensor/{node}/retare/config",
        f"sensor/{node}/rssi/config",
        f"sensor/{node}/heap/config",
        f"sensor/{node}/uptime/config",
        f"sensor/{node}/seen/config",
        f"sensor/{node}/drift/config",
        f"sensor/{node}/firmware/config",
    }
    state = bodies[f"sensor/{node}/state/config"]
    assert state["device_class"] == "enum"
    assert state["options"] == ["vacant", "seated", "alerting", "snoozed", "paused", "offline"]
    assert bodies[f"sensor/{node}/bout/config"]["device_class"] == "timestamp"
    assert "state_class" not in bodies[f"sensor/{node}/bout/config"]
    buzz = bodies[f"button/{node}/buzz/config"]
    assert buzz["device_class"] == "identify"
    assert buzz["retain"] is False
    assert "now()" in buzz["command_template"]
    assert bodies[f"button/{node}/tare/config"]["entity_category"] == "config"
    for key, action in (
        ("buzz", "identify"),
        ("tare", "tare"),
        ("pause", "pause"),
        ("resume", "resume"),
    ):
        button = bodies[f"button/{node}/{key}/config"]
        assert button["command_topic"] == f"{PREFIX}/desk-a/request"  # the hub acts, not HA
        assert f'"action": "{action}"' in button["command_template"]
    retare = bodies[f"binary_sensor/{node}/retare/config"]
    assert retare["entity_category"] == "diagnostic"
    assert "135000.0" in retare["value_template"]  # [tare] max_drift, the hub's own rule
    assert (
        "9.5"
        in configs(PREFIX, "desk-a", max_drift=9.5)[
            f"homeassistant/binary_sensor/{node}/retare/config"
        ]["value_template"]
    )
    assert bodies[f"event/{node}/button/config"]["state_topic"] == f"{PREFIX}/desk-a/button"
    for key in ("rssi", "heap", "uptime", "seen", "drift", "firmware"):
        assert bodies[f"sensor/{node}/{key}/config"]["entity_category"] == "diagnostic"
    for topic, body in bodies.items():
        assert body["name"]
        assert body["unique_id"] == f"{node}_{topic.split('/')[2]}"
        assert body["device"]["identifiers"] == [node]
        assert body["device"]["name"] == "Chair desk-a"
        assert body["device"]["suggested_area"] == "north"
        assert body["device"]["configuration_url"] == "http://hub:8080/"
        (available,) = body["availability"]
        assert available["topic"] in (f"{PREFIX}/desk-a/status", f"{PREFIX}/_hub/status")


def test_discovery_configs_follow_the_chairs_and_home_assistant(private_mosquitto):
    """Retained configs for configured desks and for desks seen online; the chair's info
    fills the device block; a desk with "_" clears its old configs; Home Assistant's
    birth message brings every config again."""
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
        wait_count(ha, PER_DESK)
        # A subscriber arriving afterwards gets them from the broker: they are retained.
        late = MqttProbe(private_mosquitto.host, private_mosquitto.port)
        late.subscribe("homeassistant/#")
        seen = wait_count(late, PER_DESK)
        assert all(m.retain for msgs in seen.values() for m in msgs)
        occ = "homeassistant/binary_sensor/sitless_desk_a/occupancy/config"
        assert "sw_version" not in seen[occ][-1].json()["device"]

        # The chair says what it is: the device gets its firmware, board and MAC.
        ha.publish(
            f"{PREFIX}/desk-a/info",
            {
                "fw": "1.4.2",
                "board": "esp32",
                "sensor": "adc",
                "mac": "AA:BB:CC:00:11:22",
                "boot": "b1",
            },
            retain=True,
        )
        device = ha.wait_topic(occ, where=lambda b: "sw_version" in b["device"]).json()["device"]
        assert device["sw_version"] == "1.4.2"
        assert device["connections"] == [["mac", "aa:bb:cc:00:11:22"]]

        # A chair the configuration does not list is announced when it comes online;
        # its id has "_", so the configs under its old node are emptied.
        ha.publish(f"{PREFIX}/desk_b/status", "online", retain=True)
        seen = wait_count(ha, 2 * PER_DESK + 3)
        assert "homeassistant/binary_sensor/sitless_desk-b/occupancy/config" in seen
        old = ha.wait_topic("homeassistant/binary_sensor/sitless_desk_b/occupancy/config")
        assert old.payload == b""

        # Home Assistant restarts: its birth message brings every config again.
        ha.clear()
        ha.publish(HA_STATUS_TOPIC, "online")
        seen = wait_count(ha, 2 * PER_DESK)
        assert len([t for t, m in seen.items() if m[-1].payload]) == 2 * PER_DESK
        assert discovery.desks() == ["desk-a", "desk_b"]
    finally:
        discovery.stop()
        ha.close()
        if late is not None:
            late.close()
