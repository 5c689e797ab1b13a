"""``/healthz`` tells the truth about the broker, and ``/metrics`` carries every operational number.

Real: the ``sitless hub`` process, a private mosquitto that the test kills and
starts again on the same port, the hub's status page over HTTP, a chair played
by a real MQTT client (occupancy, a malformed message, a refusing ack),
Apprise posting the alert's notification to a loopback port where nothing
listens (so it fails, as a dead webhook does), the history spool filling while
the configured InfluxDB address has no server, and prometheus-client's own
parser reading the page. Stood in: the chair's hardware (its messages come from
the test). The bout limit is 3 s so the alert comes within the test; the
real-default rules are the sitting tests' business.
"""

from __future__ import annotations

import json
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.hubproc import HubProcess
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import LOOPBACK, free_port

pytestmark = pytest.mark.slow

KEEPALIVE_S = 5
PREFIX = "ops"


def get(port: int, path: str) -> tuple[int, str, str]:
    """(status, content type, body) of one GET, whatever the status."""
    try:
        with urllib.request.urlopen(f"http://{LOOPBACK}:{port}{path}", timeout=5) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def health(port: int) -> tuple[int, dict]:
    status, ctype, body = get(port, "/healthz")
    assert ctype == "application/json"
    return status, json.loads(body)


def wait_health(port: int, status: int, within_s: float) -> tuple[float, dict]:
    """Poll /healthz until it answers ``status``; the time it took and the body."""
    start = time.monotonic()
    last: tuple[int, dict] | None = None
    while time.monotonic() - start < within_s:
        try:
            last = health(port)
        except (OSError, urllib.error.URLError):
            last = None
        if last is not None and last[0] == status:
            return time.monotonic() - start, last[1]
        time.sleep(0.1)
    pytest.fail(f"/healthz did not answer {status} within {within_s} s; last: {last}")


@pytest.fixture
def hub(tmp_path: Path, private_mosquitto) -> Iterator[tuple[HubProcess, int]]:
    port = free_port()
    dead_port = free_port()  # nothing listens here: InfluxDB and the webhook are down
    cfg = tmp_path / "hub.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [mqtt]
            url = "{private_mosquitto.url}"
            prefix = "{PREFIX}"
            keepalive = "{KEEPALIVE_S}s"
            [sitting]
            limit = "3s"
            [notify]
            urls = ["json://{LOOPBACK}:{dead_port}/hook"]
            [history]
            api = "v1"
            url = "http://{LOOPBACK}:{dead_port}"
            database = "sitless"
            [status]
            enabled = true
            port = {port}
            """
        )
    )
    proc = HubProcess(cfg, tmp_path / "hub.log")
    proc.start()
    try:
        yield proc, port
    finally:
        proc.terminate()


def test_health_follows_the_broker_down_and_back(hub, private_mosquitto):
    proc, port = hub
    _, body = wait_health(port, 200, within_s=30)
    assert body["status"] == "ok"
    assert body["desks"] == 0  # an empty fleet is healthy
    assert {"broker", "owner", "history", "status_page"} <= body["checks"].keys()
    assert all(check["ok"] for check in body["checks"].values()), body

    private_mosquitto.kill()
    took, body = wait_health(port, 503, within_s=KEEPALIVE_S + 5)
    assert took <= KEEPALIVE_S, f"503 only after {took:.1f} s"
    assert body["status"] == "unhealthy"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["owner"]["ok"] is True
    assert body["checks"]["history"]["ok"] is True

    private_mosquitto.start()
    # The reconnect backoff doubles up to 30 s; the broker was away only seconds.
    _, body = wait_health(port, 200, within_s=40)
    assert body["checks"]["broker"]["ok"] is True
    assert proc.proc is not None
    assert proc.proc.poll() is None


def samples(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    status, ctype, text = get(port, "/metrics")
    assert status == 200
    assert ctype.startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def wait_sample(port: int, name: str, labels: dict[str, str], at_least: float, within_s: float):
    key = (name, tuple(sorted(labels.items())))
    deadline = time.monotonic() + within_s
    seen: dict = {}
    while time.monotonic() < deadline:
        seen = samples(port)
        if seen.get(key, -1) >= at_least:
            return seen
        time.sleep(0.2)
    pytest.fail(f"{key} did not reach {at_least}: {seen.get(key)}; all: {sorted(seen)}")


def test_every_operational_metric_is_on_a_real_hubs_page(hub, private_mosquitto):
    _, port = hub
    wait_health(port, 200, within_s=30)
    private_mosquitto.kill()
    wait_health(port, 503, within_s=KEEPALIVE_S + 5)
    private_mosquitto.start()
    wait_health(port, 200, within_s=40)

    chair = MqttProbe(LOOPBACK, private_mosquitto.port)
    try:
        chair.subscribe(f"{PREFIX}/desk-1/cmd")
        chair.publish(f"{PREFIX}/desk-1/status", "online", retain=True)
        chair.publish(f"{PREFIX}/desk-1/occupancy", b"{not json")
        occupancy = {"seated": True, "seq": 1, "boot": "b00t", "ts": None, "uptime_ms": 5}
        chair.publish(f"{PREFIX}/desk-1/occupancy", json.dumps({**occupancy, "value": 1.0}))
        alert = chair.wait_for(
            lambda m: m.topic.endswith("/cmd") and m.json().get("action") == "alert", timeout=30
        ).json()
        chair.publish(
            f"{PREFIX}/desk-1/ack", json.dumps({"id": alert["id"], "ok": False, "error": "busy"})
        )
        seen = wait_sample(port, "sitless_commands_refused_total", {}, 1, within_s=15)
        seen = wait_sample(port, "sitless_notifications_total", {"result": "failed"}, 1, 30)
    finally:
        chair.close()

    assert seen[("sitless_mqtt_connected", ())] == 1
    assert seen[("sitless_mqtt_reconnects_total", ())] >= 1
    assert seen[("sitless_commands_sent_total", (("command", "alert"),))] >= 1
    assert seen[("sitless_messages_dropped_total", (("reason", "bad_payload"),))] == 1
    assert seen[("sitless_messages_in_total", ())] >= 3
    assert seen[("sitless_desks", (("state", "alerting"),))] == 1
    assert seen[("sitless_desks", (("state", "vacant"),))] == 0
    assert seen[("sitless_desks_known", ())] == 1
    # InfluxDB is down, so the spool holds the points and knows how old they are.
    assert seen[("sitless_spool_backlog", ())] >= 1
    assert seen[("sitless_spool_oldest_age_seconds", ())] > 0
    assert seen[("sitless_history_written_total", ())] == 0
    assert seen[("sitless_health_check", (("check", "broker"),))] == 1
    # The process collector.
    assert seen[("process_resident_memory_bytes", ())] > 1_000_000
    assert seen[("process_cpu_seconds_total", ())] > 0
    assert seen[("process_start_time_seconds", ())] > 1_600_000_000
    assert ("process_open_fds", ()) in seen
