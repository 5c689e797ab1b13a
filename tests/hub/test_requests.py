"""Requests to the hub (``P/D/request``) and asked-for commands, in-process on a real broker.

Real: the session mosquitto, the hub's own MQTT transport and the service.
Stood in: the chair and Home Assistant, by a real MQTT client (paho) publishing
what each would publish.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from hubrig import Chair, hub_config

from hub.core.service import HubService
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


@pytest.fixture
def hub(mosquitto, prefix, tmp_path, probe):
    service = HubService(
        hub_config(mosquitto.url, prefix, tmp_path / "state", sitting={"pause": 600})
    )
    service.start()
    try:
        wait_until(lambda: service.connected, what="hub connected")
        probe.subscribe(f"{prefix}/#")
        probe.wait_topic(f"{prefix}/_hub/status", where=lambda v: v == "online")
        yield service
    finally:
        service.stop()


def commands(probe: Any, prefix: str, action: str) -> list[dict[str, Any]]:
    return [
        m.json() for m in probe.received(f"{prefix}/desk-1/cmd") if m.json()["action"] == action
    ]


def test_identify_is_sent_under_the_requests_id_once_and_its_ack_matched(hub, probe, prefix):
    chair = Chair(probe, prefix, "desk-1")
    chair.online()
    wait_until(lambda: hub.registry.get("desk-1") is not None, what="desk known")
    request = f"{prefix}/desk-1/request"
    probe.publish(request, {"id": "ha-1", "action": "identify"})
    probe.publish(request, {"id": "ha-1", "action": "identify"})  # redelivered: acted on once
    probe.publish(request, {"id": "ha-2", "action": "identify"})
    wait_until(lambda: len(commands(probe, prefix, "identify")) == 2, what="two identify commands")
    assert [c["id"] for c in commands(probe, prefix, "identify")] == ["ha-1", "ha-2"]
    probe.publish(f"{prefix}/desk-1/ack", {"id": "ha-1", "ok": True})
    probe.publish(f"{prefix}/desk-1/ack", {"id": "ha-2", "ok": False, "error": "busy"})
    probe.publish(f"{prefix}/desk-1/ack", {"id": "ha-1", "ok": True})  # a second ack: no recount
    wait_until(lambda: sum(hub.requests.snapshot()["acks"].values()) == 2, what="both acks matched")
    time.sleep(0.3)
    counts = hub.requests.snapshot()
    assert counts["acks"] == {("homeassistant", "ok"): 1, ("homeassistant", "refused"): 1}
    assert counts["requests"] == {("homeassistant", "identify"): 2}
    snap = hub.counters.snapshot()
    assert snap["acks_unknown"] == 0
    assert snap["commands_refused"] == 1
    assert snap["dropped"].get("duplicate") == 1


def test_pause_and_resume_act_on_the_hub_and_bad_requests_are_dropped(hub, probe, prefix):
    chair = Chair(probe, prefix, "desk-1")
    chair.online()
    chair.occupancy(True)
    sitting = f"{prefix}/desk-1/sitting"
    probe.wait_topic(sitting, where=lambda v: v["state"] == "seated")
    probe.publish(f"{prefix}/desk-1/request", {"id": "ha-p", "action": "pause"})
    probe.wait_topic(sitting, where=lambda v: v["state"] == "paused")
    probe.clear()
    probe.publish(f"{prefix}/desk-1/request", {"id": "ha-r", "action": "resume"})
    # The pause would have lasted 10 minutes: resumed at once, the desk is seated again.
    probe.wait_topic(sitting, timeout=5, where=lambda v: v["state"] in ("seated", "alerting"))
    probe.publish(f"{prefix}/desk-1/request", {"id": "ha-x", "action": "reboot"})
    probe.publish(f"{prefix}/desk-9/request", {"id": "ha-y", "action": "pause"})
    wait_until(
        lambda: hub.counters.snapshot()["dropped"].get("unknown_desk") == 1,
        what="the unknown desk's request dropped",
    )
    dropped = hub.counters.snapshot()["dropped"]
    assert dropped.get("bad_request") == 1
    assert hub.registry.get("desk-9") is None  # a request admits no desk
    assert not commands(probe, prefix, "reboot")
    assert hub.requests.snapshot()["requests"] == {
        ("homeassistant", "pause"): 1,
        ("homeassistant", "resume"): 1,
    }


def test_a_tare_request_is_sent_under_its_id_and_a_refusal_is_matched_too(hub, probe, prefix):
    """Home Assistant's Re-tare button: the hub sends the chair a tare; none while offline."""
    chair = Chair(probe, prefix, "desk-1")
    chair.online()
    wait_until(lambda: hub.registry.get("desk-1") is not None, what="desk known")
    request = f"{prefix}/desk-1/request"
    probe.publish(request, {"id": "ha-t1", "action": "tare"})
    probe.publish(request, {"id": "ha-t2", "action": "tare"})
    wait_until(lambda: len(commands(probe, prefix, "tare")) == 2, what="two tare commands")
    assert [c["id"] for c in commands(probe, prefix, "tare")] == ["ha-t1", "ha-t2"]
    probe.publish(f"{prefix}/desk-1/ack", {"id": "ha-t1", "ok": True})
    probe.publish(f"{prefix}/desk-1/ack", {"id": "ha-t2", "ok": False, "error": "seated"})
    wait_until(lambda: sum(hub.requests.snapshot()["acks"].values()) == 2, what="both acks matched")
    counts = hub.requests.snapshot()
    assert counts["acks"] == {("homeassistant", "ok"): 1, ("homeassistant", "refused"): 1}
    assert counts["requests"] == {("homeassistant", "tare"): 2}
    assert hub.counters.snapshot()["acks_unknown"] == 0
    chair.offline()
    wait_until(lambda: not hub.registry.get("desk-1").view(time.time()).online, what="offline")
    probe.publish(request, {"id": "ha-t3", "action": "tare"})
    probe.publish(request, {"id": "ha-t4", "action": "pause"})  # a later request: the first is done
    wait_until(
        lambda: hub.requests.snapshot()["requests"].get(("homeassistant", "pause")) == 1,
        what="the pause after the offline tare handled",
    )
    assert [c["id"] for c in commands(probe, prefix, "tare")] == ["ha-t1", "ha-t2"]
    assert hub.requests.snapshot()["requests"][("homeassistant", "tare")] == 2
