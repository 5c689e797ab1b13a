"""Drift and tare end to end: the chair's reported drift on the hub, and tare from the API and CLI.

Real: the firmware's own App under the MicroPython unix port (its calibration,
baseline tracking, telemetry and tare command), a private mosquitto, the
``sitless hub`` process with its status page over HTTP, ``/metrics`` read by
prometheus-client's parser, and ``sitless fleet tare`` (the CLI in this
process). Stood in: the ESP32's ADC (a file the test writes the seat's
microvolts to), its pins and WiFi (tests/firmware/fakes).

The seat is calibrated at 100 000 µV empty and 1 500 000 µV occupied; the
hub's ``[tare] max_drift`` is its default (135 000 µV). A cushion on the seat
makes the empty reading 600 000 µV: still vacant, so the chair's baseline
follows it and the drift grows past the limit ("needs re-tare"). Seated, a tare
is refused with the chair's reason; off the seat (cushion gone) it is done,
and the drift falls back at once.
"""

from __future__ import annotations

import json
import textwrap
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub import cli
from tests.firmware.device import Device
from tests.support.hubproc import HubProcess
from tests.support.servers import LOOPBACK, free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

EMPTY_UV, OCCUPIED_UV = 100_000, 1_500_000
CUSHION_UV = 600_000  # load 500 000: below the vacant threshold (40 % of the span), so tracked
SEATED_UV = 1_700_000


def call(port: int, path: str, *, post: bool = False) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"http://{LOOPBACK}:{port}{path}",
        method="POST" if post else "GET",
        headers={"X-Sitless": "1"} if post else {},
        data=b"" if post else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def desk(port: int) -> dict:
    """The desk as /api/desks shows it ({} until the page is up and knows it)."""
    try:
        status, body = call(port, "/api/desks")
    except (urllib.error.URLError, OSError):
        return {}
    assert status == 200
    found = [d for d in body["desks"] if d["desk"] == "d1"]
    return found[0] if found else {}


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


@pytest.fixture
def rig(tmp_path: Path, private_mosquitto):
    broker = private_mosquitto
    prefix = "tare"
    port = free_port()
    cfg = tmp_path / "hub.toml"
    cfg.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [mqtt]
            url = "{broker.url}"
            prefix = "{prefix}"
            keepalive = "5s"
            [status]
            enabled = true
            port = {port}
            """
        )
    )
    hub = HubProcess(cfg, tmp_path / "hub.log")
    hub.start()
    board = {
        "desk": "d1",
        "wifi_ssid": "test",
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "prefix": prefix,
        "seated_ms": 200,
        "vacant_ms": 300,
        "sample_ms": 20,
        "telemetry_s": 1,
        "empty": EMPTY_UV,
        "occupied": OCCUPIED_UV,
    }
    device = Device(tmp_path / "board", board, adc_uv=EMPTY_UV)
    try:
        yield device, port, cfg, prefix, hub
    finally:
        device.stop()
        hub.terminate()


def test_drift_needs_retare_and_tare_with_the_chairs_answer(rig, capsys):
    device, port, cfg, prefix, hub = rig
    try:
        wait_until(lambda: "drift" in desk(port), 40, "the chair's drift on the hub")
    except TimeoutError:
        pytest.fail(f"no drift on the page; hub log: {hub.log_text()[-2000:]}")
    first = desk(port)
    assert abs(first["drift"]) < 5_000
    assert first["needs_retare"] is False
    assert first["max_drift"] == 135_000

    # The cushion: the empty seat now reads higher; the baseline follows, the drift grows.
    device.set_adc(CUSHION_UV)
    wait_until(lambda: desk(port).get("needs_retare") is True, 60, "needs re-tare")
    flagged = desk(port)
    assert flagged["drift"] > 135_000
    assert flagged["state"] == "vacant"
    seen = metrics(port)
    assert seen["sitless_desks_needing_retare", ()] == 1
    assert not [key for key in seen if ("desk", "d1") in key[1]]  # no desk label, ever

    # Seated: the chair refuses, and the API says why (409, the chair's own words).
    device.set_adc(SEATED_UV)
    wait_until(lambda: desk(port).get("state") == "seated", 20, "seated on the hub")
    status, body = call(port, "/api/desks/d1/tare", post=True)
    assert status == 409, body
    assert body["ok"] is False
    assert "seat is taken" in body["error"]

    # The CLI: refused too while seated, with the reason shown, exit 1.
    code = cli.main(["fleet", "tare", "--config", str(cfg), "--desk", "d1", "--wait", "10"])
    out = capsys.readouterr().out
    assert code == 1
    assert f"{prefix}/d1: refused: seat is taken; tare only while vacant" in out

    # Off the seat and the cushion gone: the tare is done and the drift is back at once.
    device.set_adc(EMPTY_UV)
    wait_until(lambda: desk(port).get("state") == "vacant", 20, "vacant on the hub")
    status, body = call(port, "/api/desks/d1/tare", post=True)
    assert status == 200, body
    assert body["ok"] is True
    wait_until(lambda: desk(port).get("needs_retare") is False, 20, "re-tare cleared")
    assert abs(desk(port)["drift"]) < 5_000
    code = cli.main(["fleet", "tare", "--config", str(cfg), "--desk", "d1", "--wait", "10"])
    assert code == 0
    assert capsys.readouterr().out.strip() == f"{prefix}/d1: ok"

    # The hub matched both of its own tare acks. The CLI speaks to the chair directly under
    # ids of its own: its refusal counts as a refusal, its ok as an unknown ack.
    wait_until(lambda: metrics(port)["sitless_acks_unknown_total", ()] == 1, 10, "the CLI's ack")
    seen = metrics(port)
    assert seen["sitless_command_acks_total", (("origin", "api"), ("outcome", "refused"))] == 1
    assert seen["sitless_command_acks_total", (("origin", "api"), ("outcome", "ok"))] == 1
    assert seen["sitless_commands_asked_total", (("action", "tare"), ("origin", "api"))] == 2
    assert seen["sitless_desks_needing_retare", ()] == 0
    assert seen["sitless_commands_refused_total", ()] == 2


def test_tare_is_refused_for_an_unknown_desk_without_sending(rig):
    _device, port, _cfg, _prefix, _hub = rig
    wait_until(lambda: desk(port).get("online") is True, 40, "the chair online")
    status, body = call(port, "/api/desks/nobody/tare", post=True)
    assert status == 409
    assert body == {"desk": "nobody", "id": body["id"], "ok": False, "error": "no desk 'nobody'"}
