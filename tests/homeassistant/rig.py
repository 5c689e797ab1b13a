"""The parts of the real-Home-Assistant story that are not Home Assistant.

The chair as its firmware would speak (a paho client logged in as the desk:
the ESP32 is the one thing stood in), the hub's configuration for the story
and the hub's numbers read back from its own /metrics and API. The broker
fixture (the shipped mosquitto configuration and ACL, plus a read-only
watcher) is in conftest.py.
"""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.brokers.test_shipped_broker import ShippedMosquitto
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import LOOPBACK

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
DESK = "desk-1"
PASSWORDS = {
    "_hub": "hub-pass",
    "_discovery": "hub-pass",
    "_homeassistant": "ha-pass",
    DESK: "chair-pass",
    "watcher": "watch-pass",
}
WATCHER_ACL = "\nuser watcher\ntopic read sitless/#\ntopic read homeassistant/#\n"
STATUS_URL = "http://sitless.example:8080/"


class Chair:
    """What the firmware publishes, from a client logged in as the desk."""

    def __init__(self, broker: ShippedMosquitto) -> None:
        self.probe = MqttProbe(broker.host, broker.port, username=DESK, password=PASSWORDS[DESK])
        self.probe.subscribe(f"sitless/{DESK}/cmd")
        self.seq = 0
        self.started = time.time()

    def _stamp(self) -> dict[str, object]:
        self.seq += 1
        now = time.time()
        return {
            "seq": self.seq,
            "boot": "b1",
            "ts": now,
            "uptime_ms": int((now - self.started) * 1000),
        }

    def send(self, kind: str, body: object, *, retain: bool = False) -> None:
        self.probe.publish(f"sitless/{DESK}/{kind}", body, retain=retain)

    def boot(self) -> None:
        self.send("status", "online", retain=True)
        self.send(
            "info",
            {
                "fw": "1.4.2",
                "board": "esp32-devkit",
                "sensor": "adc",
                "mac": "24:6F:28:AA:BB:CC",
                "boot": "b1",
            },
            retain=True,
        )
        self.telemetry()
        self.sit(False)

    def telemetry(self, drift: float = 12.5) -> None:
        now = time.time()
        self.send(
            "telemetry",
            {
                "ts": now,
                "uptime_ms": int((now - self.started) * 1000) + 60_000,
                "value": 410.0,
                "baseline": 400.0,
                "rssi": -61,
                "heap_free": 39040,
                "fw": "1.4.2",
                "reconnects": 0,
                "drift": drift,
            },
        )

    def sit(self, seated: bool) -> None:
        self.send(
            "occupancy",
            {"seated": seated, **self._stamp(), "value": 1800.0 if seated else 400.0},
            retain=True,
        )

    def press(self, press: str) -> None:
        self.send("button", {"press": press, **self._stamp()})

    def commands(self, action: str) -> list[dict]:
        return [
            m.json()
            for m in self.probe.received(f"sitless/{DESK}/cmd")
            if m.json()["action"] == action
        ]

    def ack(self, commands: list[dict]) -> None:
        for command in commands:
            self.send("ack", {"id": command["id"], "ok": True})


def metric(page: int, name: str, **labels: str) -> float:
    """One sample of the hub's /metrics (0 when absent)."""
    with urllib.request.urlopen(f"http://{LOOPBACK}:{page}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def desk_view(page: int) -> dict:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{page}/api/desks/{DESK}", timeout=5) as resp:
        return json.loads(resp.read())["desk"]


def hub_config(path: Path, broker: ShippedMosquitto, page: int) -> Path:
    path.write_text(f"""state_dir = "{path.parent / "state"}"

[mqtt]
url = "{broker.url}"
prefix = "sitless"
username = "_hub"
password = "{PASSWORDS["_hub"]}"
client_id = "hub-{uuid.uuid4().hex[:8]}"
keepalive = "5s"

[sitting]
limit = "3s"
min_break = "2s"
escalate_after = "30s"
snooze = "4s"
pause = "60s"

[status]
enabled = true
port = {page}

[homeassistant]
enabled = true
username = "_discovery"
status_url = "{STATUS_URL}"

[desks.{DESK}]
zone = "office"
""")
    return path
