"""Hundreds of deadlines falling due in the same instant: the 09:00 rush.

Real: mosquitto, the hub's MQTT transport, the service and its SQLite
checkpoint. Stood in: the chairs' sit-downs, handed to the service as the
transport would (the same ``Inbound`` values), and the clock, injected so
every deadline falls due at once; the history is a list that notes when
each fact arrived against what had been handed to the transport.
"""

from __future__ import annotations

import gc
import json
import sqlite3
from typing import Any

import orjson
import pytest
from hubrig import hub_config

from hub.core.facts import AlertSent, DeskSample, Fact
from hub.core.service import CHECKPOINT_FILE, DUE_CHUNK, FIRST_DUE_CHUNK, HubService
from hub.mqtt.inbox import Inbound
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = 2 * DUE_CHUNK + FIRST_DUE_CHUNK + 7  # several chunks, the last one partial
T0 = 1_800_000_000.0


class Log:
    """What the transport was handed and what the history was told, in one order."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []


class NotedHistory:
    def __init__(self, log: Log) -> None:
        self.log = log
        self.facts: list[Fact] = []

    def record(self, fact: Fact) -> None:
        self.facts.append(fact)
        if isinstance(fact, AlertSent):
            self.log.events.append(("fact", fact.desk))

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        pass

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_rush_of_deadlines_sends_every_alert_once_saved_first_history_after(
    mosquitto, probe, prefix, tmp_path
):
    clock = [T0]
    log = Log()
    cfg = hub_config(mosquitto.url, prefix, tmp_path, sitting={"limit": 600})
    service = HubService(cfg, history=NotedHistory(log), clock=lambda: clock[0])
    transport: Any = service.transport
    publish_many = transport.publish_many

    def noted(messages: list[tuple[str, bytes, bool]]) -> None:
        for topic, payload, _retain in messages:
            kind = topic.rsplit("/", 1)[1]
            log.events.append((kind, topic.split("/")[-2]))
            if kind == "cmd":
                # The desk's level is in the checkpoint before its command leaves.
                desk = topic.split("/")[-2]
                with sqlite3.connect(tmp_path / CHECKPOINT_FILE) as db:
                    (state,) = db.execute(
                        "SELECT state FROM desk_state WHERE desk = ?", (desk,)
                    ).fetchone()
                level = json.loads(payload)["level"]
                assert orjson.loads(state)["desk"]["bout"]["level"] == level
        publish_many(messages)

    transport.publish_many = noted
    probe.subscribe(f"{prefix}/+/cmd")
    transport.start()
    try:
        wait_until(lambda: service.connected, 10, "the hub to connect")
        names = [f"desk{i:04d}" for i in range(DESKS)]
        body = f'{{"seated":true,"seq":1,"boot":"b1","ts":{T0},"uptime_ms":1000,"value":1800.0}}'
        batch = [
            Inbound(f"{prefix}/{d}/occupancy", body.encode(), False, T0, 0, 1, 0) for d in names
        ]
        service.step(batch)
        log.events.clear()
        clock[0] = T0 + 600.0
        assert gc.isenabled()
        service.step([])
        assert gc.isenabled()  # paused for the commands only
        wait_until(lambda: len(probe.received()) >= DESKS, 20, "every alert at the broker")
        alerts = [m.topic.split("/")[-2] for m in probe.received()]
        assert sorted(alerts) == names  # each desk once
        kinds = [kind for kind, _ in log.events]
        last_command = max(i for i, kind in enumerate(kinds) if kind == "cmd")
        # Every command before any view or history point of the rush.
        assert kinds[: last_command + 1] == ["cmd"] * DESKS
        assert sorted(d for kind, d in log.events if kind == "sitting") == names
        assert sorted(d for kind, d in log.events if kind == "fact") == names
        # Each desk's next deadline was set once the commands were out: level 2 comes on time.
        clock[0] = T0 + 600.0 + 1.0
        service.step([])
        wait_until(lambda: len(probe.received()) >= 2 * DESKS, 20, "every second alert")
        second = [m.json() for m in probe.received()[DESKS:]]
        assert sorted(m.topic.split("/")[-2] for m in probe.received()[DESKS:]) == names
        assert {m["level"] for m in second} == {2}
    finally:
        transport.stop()
        service.checkpoint.close()
