"""The hub as a real ``sitless hub`` process on any broker, with its status page and log.

Real: the ``sitless hub`` process, its status page, its log, the broker the
test hands it, paho clients for the chairs. Stood in: the ESP32 (a paho
client publishes what the firmware would).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.hubproc import HubProcess
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import free_port
from tests.support.waiting import wait_until

ALL_DAYS = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
CONNECTED = re.compile(r"connected to the broker \(session present: (True|False)\)")
LEVELS = ("debug", "info", "warning", "error", "critical")


class BrokerHub:
    """``sitless hub`` on one broker: second-scale sitting rules, its page on a free port."""

    def __init__(
        self,
        folder: Path,
        url: str,
        prefix: str,
        *,
        protocol: str = "5",
        client_id: str | None = None,
        limit: float = 1.5,
        mqtt_extra: str = "",
        extra: str = "",
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.prefix = prefix
        self.limit = limit
        self.port = free_port()
        self.client_id = client_id or f"hub-{uuid.uuid4().hex[:10]}"
        self.config = folder / "sitless.toml"
        self.config.write_text(f"""state_dir = "{folder / "state"}"

[mqtt]
url = "{url}"
prefix = "{prefix}"
client_id = "{self.client_id}"
keepalive = "5s"
protocol = "{protocol}"
{mqtt_extra}

[sitting]
limit = {limit}
min_break = 1
escalate_after = 60
snooze = 60
pause = 60

[schedule]
days = {ALL_DAYS}

[status]
enabled = true
port = {self.port}

{extra}
""")
        self.proc = HubProcess(self.config, folder / "hub.log")

    # ---- life cycle ------------------------------------------------------------------

    def start(self, probe: MqttProbe | None = None) -> None:
        """Start the process; given a probe watching the hub's status, wait until it is online."""
        seen = len(self.connects())
        self.proc.start()
        wait_until(self.answers, timeout=20, what="the hub's status page answers")
        wait_until(lambda: len(self.connects()) > seen, timeout=15, what="the hub connected")
        if probe is not None:
            probe.wait_for(
                lambda m: m.topic == f"{self.prefix}/_hub/status" and m.payload == b"online",
                timeout=10,
            )

    def stop(self) -> int | None:
        return self.proc.terminate()

    def answers(self) -> bool:
        if self.proc.proc is not None and self.proc.proc.poll() is not None:
            msg = f"the hub exited with {self.proc.proc.returncode}:\n{self.log()[-3000:]}"
            raise AssertionError(msg)
        try:
            self.get("/healthz")
        except OSError:
            return False
        return True

    # ---- what it shows -----------------------------------------------------------------

    def get(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return str(reply.read().decode())

    def counters(self) -> dict[str, float]:
        return dict(json.loads(self.get("/api/desks"))["counters"])

    def desk(self, desk: str) -> dict[str, Any] | None:
        for row in json.loads(self.get("/api/desks"))["desks"]:
            if row["desk"] == desk:
                return dict(row)
        return None

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {name with labels: value}."""
        out: dict[str, float] = {}
        for line in self.get("/metrics").splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def log(self) -> str:
        return self.proc.log_text()

    def lines(self, level: str, logger: str = "hub.mqtt") -> list[str]:
        """Log lines at ``level`` (``"warning"``) or above from one part of the hub.

        A line is "time level logger text"; by default only the MQTT
        transport's lines count, since other parts warn about their own set-up
        (a status page without logins, for one).
        """
        wanted = set(LEVELS[LEVELS.index(level) :])
        out = []
        for line in self.log().splitlines():
            fields = line.split(maxsplit=3)
            if len(fields) >= 3 and fields[1] in wanted and fields[2].startswith(logger):
                out.append(line)
        return out

    def connects(self) -> list[bool]:
        """The session-present flag of every connection the hub made, in order."""
        return [m.group(1) == "True" for m in CONNECTED.finditer(self.log())]


def chair_probe(host: str, port: int, prefix: str) -> MqttProbe:
    """A chair's connection that also watches every topic under the prefix."""
    probe = MqttProbe(host, port)
    probe.subscribe(f"{prefix}/#")
    return probe


def commands(probe: MqttProbe, topic: str, action: str, after: float = 0.0) -> list[dict[str, Any]]:
    """Commands with this action seen on topic after a time, each with its arrival time."""
    out = []
    for m in probe.received(topic):
        if m.at < after:
            continue
        try:
            body = m.json()
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("action") == action:
            out.append({**body, "at": m.at})
    return out


def wait_command(
    probe: MqttProbe, topic: str, action: str, after: float, timeout: float
) -> dict[str, Any]:
    found: list[dict[str, Any]] = wait_until(
        lambda: commands(probe, topic, action, after),
        timeout=timeout,
        what=f"a {action} command on {topic}",
    )
    return found[0]


def sit(probe: MqttProbe, prefix: str, desk: str, seq: int, *, seated: bool, qos: int = 1) -> float:
    """Publish one occupancy event as the firmware does (retained); the time it was sent."""
    ts = time.time()
    probe.publish(
        f"{prefix}/{desk}/occupancy",
        {
            "seated": seated,
            "seq": seq,
            "boot": "b1",
            "ts": ts,
            "uptime_ms": 1000 + seq,
            "value": 1800.0 if seated else 200.0,
        },
        qos=qos,
        retain=True,
    )
    return ts
