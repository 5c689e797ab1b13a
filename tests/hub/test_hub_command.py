"""``sitless hub`` as a real process over MQTT 3.1.1, with Home Assistant discovery and the page.

Real: the ``sitless hub`` process, the session mosquitto, paho on both sides,
the status page's HTTP server. Stood in: the chair, by a real MQTT client.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest
from hubrig import Chair

from tests.support.mqttprobe import MqttProbe
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_hub_over_mqtt_311_publishes_discovery_and_serves_the_page(
    mosquitto, probe, prefix, tmp_path
):
    ha = f"ha{uuid.uuid4().hex[:8]}"
    port = free_port()
    cfg = tmp_path / "hub.toml"
    cfg.write_text(f"""state_dir = "{tmp_path}"

[mqtt]
url = "{mosquitto.url}"
prefix = "{prefix}"
client_id = "hub-{uuid.uuid4().hex[:10]}"
protocol = "3.1.1"

[sitting]
limit = "2s"
min_break = "1s"

[homeassistant]
enabled = true
discovery_prefix = "{ha}"

[status]
enabled = true
port = {port}

[desks.d1]
zone = "north"
""")
    probe.subscribe(f"{ha}/#")
    probe.subscribe(f"{prefix}/#")
    log = (tmp_path / "hub.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub", "hub", "--config", str(cfg)],
        stdout=log,
        stderr=log,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        found = probe.wait_for(
            lambda m: m.topic.startswith(f"{ha}/binary_sensor/") and m.topic.endswith("/config"),
            timeout=20,
        )
        config = found.json()
        assert config["device_class"] == "occupancy"
        assert config["state_topic"] == f"{prefix}/d1/occupancy"
        late = MqttProbe(mosquitto.host, mosquitto.port)  # arrives afterwards: sees it retained
        try:
            late.subscribe(found.topic)
            assert late.wait_topic(found.topic, timeout=10).retain
        finally:
            late.close()
        probe.wait_topic(f"{prefix}/_hub/status", where=lambda p: p == "online", timeout=20)

        chair = Chair(probe, prefix, "d1")
        chair.online()
        chair.occupancy(True)
        alert = probe.wait_topic(
            f"{prefix}/d1/cmd", where=lambda p: p["action"] == "alert", timeout=10
        )
        assert alert.json()["level"] == 1

        def desk_on_page():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/desks", timeout=5) as r:
                body = json.loads(r.read())
            desks = body["desks"] if isinstance(body, dict) else body
            return next((d for d in desks if d.get("desk") == "d1"), None)

        desk = wait_until(desk_on_page, timeout=10, what="d1 on the status page")
        assert desk["state"] in ("alerting", "seated")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(20)
        log.close()
    assert code == 0, (tmp_path / "hub.log").read_text()
