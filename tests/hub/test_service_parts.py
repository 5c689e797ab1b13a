"""The service's parts: deadline heap, checkpoint, timestamp sanity, drop logging, and the
MQTT transport against brokers that demand a password or go away.

Real: SQLite, private mosquitto brokers (one with a password file), paho.
Stood in: the chair, by a real MQTT client.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import subprocess

import pytest
from hubrig import Chair, hub_config

from hub.core.checkpoint import Checkpoint
from hub.core.service import DropLog, HubService, event_time
from hub.core.sitting import Desk, Rules
from hub.core.timers import Deadlines
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Mosquitto, stop_all
from tests.support.waiting import wait_until

PASSWORD = "s3cret-pw"  # noqa: S105 - a throwaway password for a private test broker
WRONG_PASSWORD = "not-it"  # noqa: S105 - same


def test_deadlines_pop_in_order_and_replacements_win():
    heap = Deadlines()
    heap.set("a", 30)
    heap.set("b", 10)
    heap.set("a", 5)  # replaces 30
    heap.set("c", 20)
    heap.set("c", None)  # removed
    assert heap.next_time() == 5
    assert heap.pop_due(10) == ["a", "b"]
    assert heap.pop_due(100) == []
    assert len(heap) == 0
    for desk, when in (("a", 3), ("b", 1), ("c", 2), ("d", 9)):
        heap.set(desk, when)
    assert heap.pop_due(5, 2) == ["b", "c"]  # the earliest first, the rest kept
    assert heap.pop_due(5, 2) == ["a"]
    assert heap.next_time() == 9


def test_checkpoint_round_trip_and_unreadable_rows(tmp_path):
    path = tmp_path / "cp.sqlite3"
    desk = Desk("d1", Rules())
    desk.on_occupancy(True, 1000.0)
    cp = Checkpoint(path)
    cp.save("d1", {"prefix": "p", "desk": desk.snapshot()}, "boot1", 7, 1001.0)
    cp.save("d1", {"prefix": "p", "desk": desk.snapshot()}, "boot1", 8, 1002.0)
    cp.close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO desk_state VALUES ('d2', '{broken', NULL, NULL, 0)")
    saved = Checkpoint(path).load()
    assert list(saved) == ["d1"]
    assert (saved["d1"].boot, saved["d1"].seq) == ("boot1", 8)
    again = Desk("d1", Rules())
    again.restore(saved["d1"].state["desk"])
    assert again.view(1500.0).since == 1000.0


def test_checkpoint_rows_read_the_standard_encoders_infinity_and_skip_non_objects(tmp_path):
    """Rows are decoded by orjson; one it refuses (``Infinity``, as ``json.dumps`` writes it)
    by the standard decoder; a row that is JSON but not an object is skipped."""
    path = tmp_path / "cp.sqlite3"
    Checkpoint(path).close()
    with sqlite3.connect(path) as db:
        db.execute(
            "INSERT INTO desk_state VALUES "
            """('d1', '{"prefix": "p", "desk": {"paused_until": Infinity}}', 'b', 3, 5)"""
        )
        db.execute("INSERT INTO desk_state VALUES ('d2', '[1, 2]', NULL, NULL, 0)")
    rows = list(Checkpoint(path).rows())
    assert [row[0] for row in rows] == ["d1"]
    assert rows[0][1]["desk"]["paused_until"] == math.inf
    assert rows[0][2:] == ("b", 3, 5.0)


def test_device_time_is_used_only_when_sane():
    now = 1_800_000_000.0
    assert event_time(now - 5, now) == now - 5
    assert event_time(now + 29, now) == now + 29
    assert event_time(now + 31, now) == now
    assert event_time(now - 86401, now) == now
    assert event_time(None, now) == now


def test_drop_log_is_rate_limited_per_reason(caplog):
    caplog.set_level(logging.WARNING, logger="hub.core.service")
    drops = DropLog(every=60)
    for i in range(50):
        drops.note("bad_topic", f"x{i}", 100.0 + i)
    drops.note("duplicate", "d", 120.0)
    drops.note("bad_topic", "later", 161.0)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3
    assert "bad_topic" in lines[0]
    assert "duplicate" in lines[1]
    assert lines[2].startswith("dropped 50 message(s): bad_topic")


@pytest.fixture
def password_broker(tmp_path):
    pw = tmp_path / "passwd"
    subprocess.run(
        ["mosquitto_passwd", "-b", "-c", str(pw), "hub", PASSWORD], check=True, capture_output=True
    )
    pw.chmod(0o600)
    broker = Mosquitto(tmp_path / "broker", f"password_file {pw}", anonymous=False)
    broker.start()
    yield broker
    stop_all(broker)


@pytest.mark.slow
def test_hub_logs_in_with_a_password_file_and_never_logs_the_secret(
    password_broker, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    secret = tmp_path / "mqtt_password"
    secret.write_text(PASSWORD + "\n")
    cfg = hub_config(
        password_broker.url,
        "pw",
        tmp_path / "state",
        mqtt={
            "url": password_broker.url,
            "prefix": "pw",
            "username": "hub",
            "password_file": str(secret),
        },
    )
    wrong = cfg.model_copy(deep=True)
    wrong.mqtt.password_file = None
    wrong.mqtt.client_id = "hub-wrong"
    wrong.mqtt.password = WRONG_PASSWORD  # type: ignore[assignment]
    refused = HubService(wrong)
    refused.start()
    service = HubService(cfg)
    service.start()
    try:
        wait_until(lambda: service.connected, what="hub connected with password")
        probe = MqttProbe(
            password_broker.host, password_broker.port, username="hub", password=PASSWORD
        )
        probe.subscribe("pw/#")
        chair = Chair(probe, "pw", "desk-1")
        chair.occupancy(True)
        probe.wait_topic("pw/desk-1/cmd", where=lambda b: b.get("action") == "alert")
        probe.close()
        assert not refused.connected
    finally:
        service.stop()
        refused.stop()
    assert PASSWORD not in caplog.text
    assert WRONG_PASSWORD not in caplog.text


@pytest.mark.slow
def test_hub_reconnects_by_itself_after_the_broker_restarts(private_mosquitto, tmp_path):
    cfg = hub_config(private_mosquitto.url, "rc", tmp_path / "state", sitting={"limit": 3})
    service = HubService(cfg)
    service.start()
    try:
        wait_until(lambda: service.connected, what="connected")
        private_mosquitto.stop()
        wait_until(lambda: not service.connected, what="noticed the broker went")
        private_mosquitto.start()
        wait_until(lambda: service.connected, timeout=40, what="reconnected")
        probe = MqttProbe(private_mosquitto.host, private_mosquitto.port)
        probe.subscribe("rc/#")
        Chair(probe, "rc", "desk-1").occupancy(True)
        alert = probe.wait_topic("rc/desk-1/cmd", where=lambda b: b.get("action") == "alert")
        assert alert.json()["level"] == 1
        probe.close()
    finally:
        service.stop()
