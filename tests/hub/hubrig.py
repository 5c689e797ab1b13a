"""Helpers for the hub service tests: a config on the test broker and a fake chair that publishes.

The chair is a real MQTT client (the ``probe``) publishing what firmware
would; only the ESP32 itself is stood in.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from hub import config
from hub.config import HubConfig

FAST_SITTING = {
    "limit": 2,
    "min_break": 1,
    "escalate_after": 1,
    "snooze": 2,
    "max_snoozes": 3,
    "pause": 3,
}


def hub_config(url: str, prefix: str, state_dir: Path, **sections: Any) -> HubConfig:
    """Second-scale rules, a client id of the test's own, state in the test's folder."""
    sitting = {**FAST_SITTING, **sections.pop("sitting", {})}
    data: dict[str, Any] = {
        "mqtt": {
            "url": url,
            "prefix": prefix,
            "client_id": f"hub-{uuid.uuid4().hex[:10]}",
            "keepalive": 5,
        },
        "sitting": sitting,
        "history": {"sample_period": 1},
        "state_dir": str(state_dir),
        **sections,
    }
    return config.from_mapping(data)


class Chair:
    """One simulated chair: keeps its boot id and sequence like the firmware does."""

    def __init__(self, probe: Any, prefix: str, desk: str, boot: str = "b1") -> None:
        self.probe = probe
        self.prefix = prefix
        self.desk = desk
        self.boot = boot
        self.seq = 0

    def topic(self, kind: str) -> str:
        return f"{self.prefix}/{self.desk}/{kind}"

    def online(self) -> None:
        self.probe.publish(self.topic("status"), "online", retain=True)

    def offline(self) -> None:
        self.probe.publish(self.topic("status"), "offline", retain=True)

    def occupancy(self, seated: bool, ts: float | None = None) -> float:
        ts = time.time() if ts is None else ts
        self.seq += 1
        self.probe.publish(
            self.topic("occupancy"),
            {
                "seated": seated,
                "seq": self.seq,
                "boot": self.boot,
                "ts": ts,
                "uptime_ms": 1000 + self.seq,
                "value": 1800.0 if seated else 200.0,
            },
            retain=True,
        )
        return ts

    def button(self, press: str) -> float:
        ts = time.time()
        self.seq += 1
        self.probe.publish(
            self.topic("button"),
            {
                "press": press,
                "seq": self.seq,
                "boot": self.boot,
                "ts": ts,
                "uptime_ms": 5000,
            },
        )
        return ts


def alerts_on(probe: Any, topic: str) -> list[dict[str, Any]]:
    """Every alert command seen on a cmd topic, in order, with arrival time."""
    out = []
    for m in probe.received(topic):
        body = m.json()
        if body.get("action") == "alert":
            out.append({**body, "at": m.at})
    return out
