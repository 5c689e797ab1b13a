"""Finding 1: a poisoned retained ``P/D/sitting`` view, and seeding from retained views.

Real: the ``sitless hub`` process (started twice on the same state folder), its
status page, the session mosquitto holding the retained views, a paho client
publishing them, and for the log test the hub service with its real MQTT
transport. Stood in: for the log test only, a history store that fails on every
point, standing in for any bug that costs a message.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from hub import config
from hub.core.service import HubService
from tests.hostile.rig import PagedHub
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

POISON = [
    b'{"state":"seated","since":-1e300,"level":0,"seated_s":0,"ts":0}',
    b'{"state":"seated","since":-Infinity,"level":0,"seated_s":0,"ts":0}',
    b'{"state":"seated","since":NaN,"level":0,"seated_s":0,"ts":0}',
    b'{"state":"alerting","since":1e300,"level":2,"seated_s":0,"ts":0}',
    b'{"state":"seated","since":1774000000,"level":1e308,"seated_s":0,"ts":0}',
]


def test_a_poisoned_retained_view_never_stops_the_hub(mosquitto, probe, prefix, tmp_path):
    """Retained views with since -1e300, -Infinity, NaN, 1e300 and an absurd level
    are ignored: no internal error, /api/desks stays valid JSON, and a second
    start on the same state folder runs (it exited 1 from the checkpoint restore)."""
    for n, payload in enumerate(POISON):
        probe.publish(f"{prefix}/poison-{n}/sitting", payload, retain=True)
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix)
    probe.subscribe(f"{prefix}/_hub/status")

    def onlines() -> int:
        return sum(1 for m in probe.received(f"{prefix}/_hub/status") if m.payload == b"online")

    try:
        for start in (1, 2):
            hub.start()
            # The hub says "online" once subscribed, and the retained views reach it at once,
            # ahead of anything published later: a desk it hears of after "online" shows on
            # its page only once every poisoned view has been applied.
            wait_until(lambda n=start: onlines() >= n, timeout=60, what="the hub subscribed")
            marker = f"marker-{start}"
            probe.publish(f"{prefix}/{marker}/status", "online")
            wait_until(
                lambda m=marker: m in {d["desk"] for d in hub.desks()["desks"]},
                timeout=60,
                what="the desk heard after the retained views",
            )
            assert hub.running(), hub.proc.log_text()[-3000:]
            page = hub.desks()  # strict: NaN and Infinity fail here
            counters = page["counters"]
            assert counters.get("dropped_internal_error", 0) == 0, (start, counters)
            for desk in page["desks"]:
                assert desk["since"] is None or abs(desk["since"] - time.time()) < 86400 * 400
            assert hub.proc.terminate() == 0, hub.proc.log_text()[-3000:]
        assert "Traceback" not in hub.proc.log_text()
    finally:
        hub.proc.terminate()
        for n in range(len(POISON)):
            probe.publish(f"{prefix}/poison-{n}/sitting", b"", retain=True)


def test_seeding_from_retained_views_keeps_to_max_desks_per_prefix(mosquitto, prefix, tmp_path):
    """30 retained views of desks seated for an hour against a cap of 10 desks:
    at most 10 desks are seeded and at most 10 chairs get an alert."""
    cap, views = 10, 30
    since = time.time() - 3600
    seeder = MqttProbe(mosquitto.host, mosquitto.port)
    watcher = MqttProbe(mosquitto.host, mosquitto.port)
    hub = PagedHub(
        tmp_path / "hub", mosquitto.url, prefix, f"[limits]\nmax_desks_per_prefix = {cap}\n"
    )
    try:
        for n in range(views):
            view = {"state": "seated", "since": since, "level": 0, "seated_s": 3600, "ts": since}
            seeder.publish(f"{prefix}/seed-{n:02d}/sitting", json.dumps(view), retain=True)
        watcher.subscribe(f"{prefix}/+/cmd")
        hub.start()
        wait_until(watcher.received, timeout=15, what="the first alert")
        time.sleep(3)
        alerted = {m.topic.split("/")[-2] for m in watcher.received()}
        assert 0 < len(alerted) <= cap, sorted(alerted)
        assert len(hub.desks()["desks"]) <= cap
    finally:
        hub.proc.terminate()
        for n in range(views):
            seeder.publish(f"{prefix}/seed-{n:02d}/sitting", b"", retain=True)
        seeder.close()
        watcher.close()


class BrokenHistory:
    """A history store that fails on every point (any bug that costs a message)."""

    def record(self, _fact: object) -> None:
        msg = "history store broken for this test"
        raise RuntimeError(msg)

    def sample(self, _ts: float, _samples: object) -> None:
        """Samples are not the point here."""

    def start(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""


def test_an_error_per_message_logs_one_traceback_not_one_each(
    mosquitto, probe, prefix, tmp_path: Path, caplog
):
    """50 messages that each hit an internal error are each counted, but the log
    gets one traceback and a count, not 50 tracebacks."""
    cfg = config.from_mapping(
        {
            "mqtt": {"url": mosquitto.url, "prefix": prefix, "client_id": f"hub-{prefix[-8:]}"},
            "state_dir": str(tmp_path),
        }
    )
    service = HubService(cfg, history=BrokenHistory())
    caplog.set_level(logging.INFO)
    service.start()
    try:
        wait_until(lambda: service.connected, timeout=10, what="hub connected")
        time.sleep(0.5)  # subscribed
        for n in range(50):
            probe.publish(
                f"{prefix}/d{n}/occupancy",
                {"seated": True, "seq": 1, "boot": "b1", "ts": None, "uptime_ms": 5, "value": 9.0},
            )
        wait_until(
            lambda: service.counters.snapshot()["dropped"].get("internal_error", 0) >= 50,
            timeout=20,
            what="50 internal errors counted",
        )
    finally:
        service.stop()
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1, len(tracebacks)
