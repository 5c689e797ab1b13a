"""Finding 3: events that waited in the broker while the hub was down.

Real: the ``sitless hub`` process (stopped, then started again on the same
state folder and client id, so the broker kept its session), the session
mosquitto queueing the events meanwhile, the production rules (limit 30
minutes, min_break 2 minutes), a paho client publishing what the firmware
would and watching the commands. Nothing stood in: the events simply carry
their own times, 40 minutes ago.
"""

from __future__ import annotations

import json
import sqlite3
import time

import pytest

from tests.hostile.rig import PagedHub
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def event(seated: bool, seq: int, ts: float) -> str:
    body = {"seated": seated, "seq": seq, "boot": "b1", "ts": ts, "uptime_ms": seq, "value": 9.0}
    return json.dumps(body)


def test_stale_bouts_replayed_after_an_outage_never_alert_now(mosquitto, prefix, tmp_path):
    """Three 60-second bouts from 40 minutes ago reach the hub only after its restart:
    nothing is sent to that chair and no alert is stored. A chair whose last event
    is "seated 40 minutes ago" (it really is still seated) gets one alert now, level 1."""
    chair = MqttProbe(mosquitto.host, mosquitto.port)
    watcher = MqttProbe(mosquitto.host, mosquitto.port)
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix)
    try:
        watcher.subscribe(f"{prefix}/+/cmd")
        watcher.subscribe(f"{prefix}/_hub/status")
        hub.start()
        # The hub says "online" once subscribed: from then on the broker keeps its session.
        watcher.wait_topic(f"{prefix}/_hub/status", timeout=60, where=lambda v: v == "online")
        assert hub.proc.terminate() == 0
        start = time.time() - 40 * 60
        for bout in range(3):
            t = start + bout * 300  # 5 minutes apart: each stand is a real break
            chair.publish(f"{prefix}/stale/occupancy", event(True, 2 * bout + 1, t))
            chair.publish(f"{prefix}/stale/occupancy", event(False, 2 * bout + 2, t + 60))
        chair.publish(f"{prefix}/still/occupancy", event(True, 1, start))
        hub.start()
        wait_until(
            lambda: {d["desk"] for d in hub.desks()["desks"]} >= {"stale", "still"},
            timeout=60,
            what="both desks applied",
        )
        wait_until(lambda: watcher.received(f"{prefix}/still/cmd"), timeout=30, what="the alert")
        time.sleep(2)
        still = [m.json() for m in watcher.received(f"{prefix}/still/cmd")]
        assert [(c["action"], c.get("level")) for c in still] == [("alert", 1)], still
        assert watcher.received(f"{prefix}/stale/cmd") == []
        assert hub.proc.terminate() == 0
        with sqlite3.connect(hub.state / "sitless-spool.sqlite3") as db:
            stored = db.execute("SELECT desk FROM points WHERE measurement = 'alert'").fetchall()
        assert ("stale",) not in stored
        assert ("still",) in stored
    finally:
        hub.proc.terminate()
        chair.close()
        watcher.close()
