"""Finding 4: a flood of made-up desk ids must not lock real desks out.

Real: the ``sitless hub`` process and its status page, the ``sitless desks``
command, the session mosquitto, a paho client flooding made-up ids; for the
silence test, the hub service with its real MQTT transport and checkpoint,
run on an injected clock so a week of silence passes at once. Nothing else
is stood in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from hub import config
from hub.core.service import HubService
from tests.hostile.rig import PagedHub, sitless
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

CAP = 20
WEEK = 7 * 86400.0


def seated(seq: int = 1) -> str:
    body = {"seated": True, "seq": seq, "boot": "b1", "ts": None, "uptime_ms": 5, "value": 9.0}
    return json.dumps(body)


def states(hub: PagedHub) -> dict[str, str]:
    return {d["desk"]: d["state"] for d in hub.desks()["desks"]}


def test_configured_desks_are_admitted_past_a_flood_and_desks_can_be_forgotten(
    mosquitto, prefix, tmp_path
):
    """40 made-up ids against a cap of 20: desks listed in [desks.*] are still
    admitted, before and after a restart. With the hub stopped, ``sitless desks
    forget`` removes the made-up ones, and a new unlisted desk is admitted again."""
    chair = MqttProbe(mosquitto.host, mosquitto.port)
    extra = f"[limits]\nmax_desks_per_prefix = {CAP}\n\n[desks.real-1]\n\n[desks.real-2]\n"
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix, extra)
    try:
        hub.start()
        time.sleep(1)
        for n in range(2 * CAP):
            chair.publish(f"{prefix}/fake-{n:03d}/occupancy", seated())
        wait_until(
            lambda: hub.counters().get("dropped_too_many_desks", 0) >= CAP,
            timeout=15,
            what="the flood refused beyond the cap",
        )
        chair.publish(f"{prefix}/real-1/occupancy", seated())
        wait_until(lambda: states(hub).get("real-1") == "seated", timeout=10, what="real-1 in")
        assert hub.proc.terminate() == 0

        hub.start()
        chair.publish(f"{prefix}/real-2/occupancy", seated())
        wait_until(lambda: states(hub).get("real-2") == "seated", timeout=10, what="real-2 in")
        chair.publish(f"{prefix}/new-1/occupancy", seated())
        wait_until(
            lambda: hub.counters().get("dropped_too_many_desks", 0) >= 1,
            timeout=10,
            what="new-1 refused while the made-up desks fill the cap",
        )
        assert "new-1" not in states(hub)
        assert hub.proc.terminate() == 0

        listed = sitless("desks", "list", "--config", str(hub.config))
        assert listed.returncode == 0, listed.stderr
        assert "fake-000" in listed.stdout
        assert "real-1" in listed.stdout
        forgot = sitless("desks", "forget", "--config", str(hub.config), "--unconfigured")
        assert forgot.returncode == 0, forgot.stderr
        assert f"forgot {CAP} desk(s)" in forgot.stdout
        unknown = sitless("desks", "forget", "--config", str(hub.config), "no-such-desk")
        assert unknown.returncode == 2
        assert "no-such-desk" in unknown.stderr
        assert "Traceback" not in unknown.stderr

        hub.start()
        chair.publish(f"{prefix}/new-1/occupancy", seated(2))
        wait_until(lambda: states(hub).get("new-1") == "seated", timeout=10, what="new-1 in")
        assert not any(d.startswith("fake-") for d in states(hub))
        assert {"real-1", "real-2"} <= set(states(hub))
    finally:
        hub.proc.terminate()
        chair.close()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_unconfigured_desks_silent_for_forget_after_are_forgotten(
    mosquitto, probe, prefix, tmp_path: Path
):
    """A cap full of made-up desks refuses a new desk; a week later (the default
    ``limits.forget_after``) the silent made-up desks are forgotten, the new desk
    is admitted, and a restart does not bring the forgotten ones back."""
    cfg = config.from_mapping(
        {
            "mqtt": {"url": mosquitto.url, "prefix": prefix, "client_id": f"hub-{prefix[-8:]}"},
            "limits": {"max_desks_per_prefix": CAP},
            "desks": {"real-1": {}},
            "state_dir": str(tmp_path),
        }
    )
    assert cfg.limits.forget_after == WEEK
    clock = Clock()
    service = HubService(cfg, clock=clock)
    service.start()
    try:
        wait_until(lambda: service.connected, timeout=10, what="hub connected")
        time.sleep(0.5)
        for n in range(CAP):
            probe.publish(f"{prefix}/fake-{n:03d}/occupancy", seated())
        wait_until(lambda: len(service.views()) >= CAP, timeout=10, what="the cap filled")
        probe.publish(f"{prefix}/late-1/occupancy", seated())
        wait_until(
            lambda: service.counters.snapshot()["dropped"].get("too_many_desks", 0) == 1,
            timeout=10,
            what="late-1 refused",
        )
        clock.now += WEEK - 60  # not quite a week: still remembered
        probe.publish(f"{prefix}/late-2/occupancy", seated())
        wait_until(
            lambda: service.counters.snapshot()["dropped"].get("too_many_desks", 0) == 2,
            timeout=10,
            what="late-2 refused",
        )
        clock.now += 120  # a week and a minute of silence
        probe.publish(f"{prefix}/late-3/occupancy", seated())
        wait_until(
            lambda: "late-3" in {s.view.desk for s in service.views()},
            timeout=10,
            what="late-3 admitted",
        )
        assert not any(s.view.desk.startswith("fake-") for s in service.views())
    finally:
        service.stop()
    again = HubService(cfg, clock=clock)
    again.start()
    try:
        known = {s.view.desk for s in again.views()}
        assert "late-3" in known
        assert not any(d.startswith("fake-") for d in known)
    finally:
        again.stop()
