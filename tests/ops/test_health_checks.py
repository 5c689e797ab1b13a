"""The checks behind ``/healthz`` each fail for their own fault, and only for it.

Real: the hub service connected to the session's mosquitto, its owner
thread, the history (a real SQLite spool and the real writer thread, aimed at
a loopback port where no InfluxDB listens), the status page's server and
poller answering over HTTP. Stood in: the passing of time for the "stuck"
checks, by setting the last-turn clock back rather than waiting two minutes.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest

from hub import config
from hub.core.service import HubService
from hub.history import History
from hub.history.recorder import WRITER_STUCK_S
from hub.web.server import StatusServer
from hub.web.status import OWNER_STALE_S, ServiceSource
from tests.support.servers import LOOPBACK, free_port

pytestmark = pytest.mark.slow


def wait_until(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def status_of(server: StatusServer) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.url + "healthz", timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def running(mosquitto, tmp_path):
    cfg = config.load(
        environ={
            "SITLESS_MQTT__URL": mosquitto.url,
            "SITLESS_MQTT__PREFIX": f"checks{time.monotonic_ns() % 10**9}",
            "SITLESS_STATE_DIR": str(tmp_path / "state"),
            "SITLESS_HISTORY__API": "v1",
            "SITLESS_HISTORY__URL": f"http://{LOOPBACK}:{free_port()}",
            "SITLESS_HISTORY__DATABASE": "sitless",
        }
    )
    history = History(cfg)
    service = HubService(cfg, history=history)
    service.start()
    source = ServiceSource(service, history)
    server = StatusServer(source, operations=source).start()
    try:
        wait_until(lambda: service.connected)
        yield service, history, server
    finally:
        server.stop()
        service.stop()


def test_a_connected_hub_with_no_desks_and_no_influxdb_is_healthy(running):
    _, _, server = running
    wait_until(lambda: status_of(server)[0] == 200)
    _, body = status_of(server)
    assert body["status"] == "ok"
    assert body["desks"] == 0
    assert body["checks"]["history"]["detail"].startswith("writer moving")  # nothing to send yet


def test_a_stuck_history_writer_fails_only_the_history_check(running):
    _, history, server = running
    wait_until(lambda: status_of(server)[0] == 200)
    writer = history._writer
    assert writer is not None
    # The writer turns at least every 10 s; make its last turn look old. Should it
    # turn between setting the clock back and the request, try again.
    for _ in range(3):
        writer.last_turn = time.monotonic() - WRITER_STUCK_S - 5
        status, body = status_of(server)
        if status != 200:
            break
    assert status == 503
    assert body["checks"]["history"]["ok"] is False
    assert "has not moved" in body["checks"]["history"]["detail"]
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["owner"]["ok"] is True


def test_an_ended_history_writer_is_unhealthy(running):
    _, history, server = running
    wait_until(lambda: status_of(server)[0] == 200)
    writer = history._writer
    assert writer is not None
    writer.stop(timeout=40)
    assert not writer.is_alive()
    status, body = status_of(server)
    assert status == 503
    assert body["checks"]["history"] == {
        "ok": False,
        "detail": "the history writer thread has ended",
    }


def test_an_owner_thread_that_stopped_taking_batches_is_unhealthy(running):
    service, _, server = running
    wait_until(lambda: status_of(server)[0] == 200)
    # The idle owner takes a batch every half second; an old last batch means it hangs.
    service.last_step = time.monotonic() - OWNER_STALE_S - 5
    status, body = status_of(server)
    assert status == 503
    assert body["checks"]["owner"]["ok"] is False
    wait_until(lambda: status_of(server)[0] == 200, timeout=5)  # and it recovers by itself


def test_a_stopped_owner_thread_is_unhealthy(running):
    service, _, server = running
    wait_until(lambda: status_of(server)[0] == 200)
    service._stop.set()
    wait_until(lambda: not service.running)
    status, body = status_of(server)
    assert status == 503
    assert body["checks"]["owner"] == {"ok": False, "detail": "the owner thread is not running"}
