"""Home Assistant discovery follows the privacy mode: per desk only for a person's own setup.

Real: a private mosquitto, the hub's Discovery publisher with its own paho
connection, a paho probe reading everything under homeassistant/ as Home
Assistant would, and the chairs' retained status. Stood in: Home Assistant
itself (tests/homeassistant runs the configs through a real one).
"""

from __future__ import annotations

import time
from typing import Any

from hub import config
from hub.integrations.homeassistant import Discovery, configs, node_id
from tests.support.mqttprobe import MqttProbe

DESKS = {"desk-1": {"zone": "north"}, "desk-7": {"zone": "north"}}
PER_DESK = len(configs("sitless", "x"))


def make_cfg(port: int, privacy: str, desks: list[str] | None = None) -> config.HubConfig:
    ha: dict[str, Any] = {"enabled": True}
    if desks is not None:
        ha["desks"] = desks
    return config.from_mapping(
        {
            "mqtt": {"url": f"mqtt://127.0.0.1:{port}", "client_id": f"hub-{privacy}"},
            "history": {"privacy": privacy},
            "homeassistant": ha,
            "desks": DESKS,
        }
    )


def retained_configs(broker: Any) -> dict[str, bytes]:
    """What a Home Assistant subscribing now would be handed: the non-empty retained configs."""
    probe = MqttProbe(broker.host, broker.port)
    try:
        probe.subscribe("homeassistant/#")
        probe.publish("homeassistant/marker", "m")
        probe.wait_topic("homeassistant/marker", timeout=15)
        return {
            m.topic: m.payload
            for m in probe.received()
            if m.topic.endswith("/config") and m.retain and m.payload
        }
    finally:
        probe.close()


def nodes(topics: dict[str, bytes]) -> set[str]:
    return {t.split("/")[2] for t in topics}


def run_discovery(cfg: config.HubConfig, seen: MqttProbe, want: int) -> Discovery:
    """Start discovery and wait until the probe saw ``want`` config publishes (empty ones too)."""
    discovery = Discovery(cfg).start()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if len([m for m in seen.received() if m.topic.endswith("/config")]) >= want:
            return discovery
        time.sleep(0.05)
    discovery.stop()
    raise AssertionError(f"saw {len(seen.received())} publishes, wanted {want}")


def test_desk_mode_announces_every_desk(private_mosquitto):
    """The default: one device per desk, configured or seen online."""
    seen = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    seen.subscribe("homeassistant/#")
    discovery = run_discovery(make_cfg(private_mosquitto.port, "desk"), seen, 2 * PER_DESK)
    try:
        got = retained_configs(private_mosquitto)
        assert nodes(got) == {node_id("desk-1"), node_id("desk-7")}
        assert len(got) == 2 * PER_DESK
    finally:
        discovery.stop()
        seen.close()


def test_aggregate_mode_announces_no_desk_and_empties_what_desk_mode_left(
    private_mosquitto, caplog
):
    """Switching to aggregate: no desk is announced and the old configs are emptied, so Home
    Assistant removes those entities; the log says why, and how a person gets their own."""
    seen = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    seen.subscribe("homeassistant/#")
    before = run_discovery(make_cfg(private_mosquitto.port, "desk"), seen, 2 * PER_DESK)
    before.stop()
    assert len(retained_configs(private_mosquitto)) == 2 * PER_DESK
    seen.clear()
    discovery = run_discovery(make_cfg(private_mosquitto.port, "aggregate"), seen, 2 * PER_DESK)
    try:
        # A chair that comes online later is not announced either.
        seen.publish("sitless/desk-9/status", "online", retain=True)
        time.sleep(1.5)  # the announcement would come about a second after first hearing
        assert all(m.payload == b"" for m in seen.received() if m.topic.endswith("/config"))
        assert retained_configs(private_mosquitto) == {}
        assert discovery.desks() == ["desk-1", "desk-7", "desk-9"]
        assert "announces no desk" in caplog.text
    finally:
        discovery.stop()
        seen.close()


def test_aggregate_mode_announces_only_the_persons_own_desk(private_mosquitto):
    """homeassistant.desks = ["desk-7"]: desk-7's device only, even after Home Assistant's
    birth message asks for everything again."""
    seen = MqttProbe(private_mosquitto.host, private_mosquitto.port)
    seen.subscribe("homeassistant/#")
    cfg = make_cfg(private_mosquitto.port, "aggregate", ["desk-7"])
    discovery = run_discovery(cfg, seen, 2 * PER_DESK)
    try:
        published = discovery.published
        seen.publish("homeassistant/status", "online")
        deadline = time.monotonic() + 15
        while discovery.published < published + PER_DESK:
            assert time.monotonic() < deadline, "the birth message brought no announcement"
            time.sleep(0.05)
        got = retained_configs(private_mosquitto)
        assert nodes(got) == {node_id("desk-7")}
        assert len(got) == PER_DESK
        announced = {
            m.topic.split("/")[2]
            for m in seen.received()
            if m.topic.endswith("/config") and m.payload
        }
        assert announced == {node_id("desk-7")}
    finally:
        discovery.stop()
        seen.close()
