"""A chair through a real Home Assistant: every entity, through a whole day's events.

Real: Home Assistant core (own virtual environment, onboarded over REST, MQTT
added through the config flow with the shipped "_homeassistant" login),
mosquitto run with the shipped configuration and ACL (so the logins of the
hub, its discovery, Home Assistant and the chair are all checked), the
``sitless hub`` process with discovery on its own "_discovery" login, Home
Assistant's own frontend in a headless Chromium (the device page, checked and
pictured). Stood in: the ESP32,
by a paho client logged in as the chair. The hub runs second-scale sitting
rules (a process has no injectable clock; tests/hub times the real defaults).
"""

from __future__ import annotations

import shutil
import time

import pytest

from tests.homeassistant.conftest import installs
from tests.homeassistant.frontend import device_page, keep_for_docs
from tests.homeassistant.rig import (
    DESK,
    PASSWORDS,
    STATUS_URL,
    Chair,
    desk_view,
    hub_config,
    metric,
)
from tests.support.hubproc import HubProcess
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import free_port
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

KEYS = {
    "occupancy": "binary_sensor",
    "state": "sensor",
    "bout": "sensor",
    "level": "sensor",
    "alerts": "event",
    "button": "event",
    "buzz": "button",
    "tare": "button",
    "pause": "button",
    "resume": "button",
    "rssi": "sensor",
    "heap": "sensor",
    "uptime": "sensor",
    "seen": "sensor",
    "drift": "sensor",
    "retare": "binary_sensor",
    "firmware": "sensor",
}
DIAGNOSTIC = ("rssi", "heap", "uptime", "seen", "drift", "retare", "firmware")


def test_a_chair_in_home_assistant(  # noqa: PLR0915 - one story, told in order
    home_assistant, shipped_broker, tmp_path, artifacts
):
    ha = home_assistant
    page = free_port()
    hub = HubProcess(
        hub_config(tmp_path / "sitless.toml", shipped_broker, page), tmp_path / "hub.log"
    )
    chair = Chair(shipped_broker)
    watcher = MqttProbe(
        shipped_broker.host, shipped_broker.port, username="watcher", password=PASSWORDS["watcher"]
    )
    watcher.subscribe("homeassistant/#")
    try:
        chair.boot()
        hub.start()
        ha.add_mqtt(
            shipped_broker.host,
            shipped_broker.port,
            username="_homeassistant",
            password=PASSWORDS["_homeassistant"],
        )

        # --- every entity and the device --------------------------------------------
        node = "sitless_desk_1"
        ids = wait_until(
            lambda: (
                (
                    found := {
                        e["unique_id"][len(node) + 1 :]: e
                        for e in ha.entities()
                        if e["unique_id"].startswith(node + "_")
                    }
                )
                and set(found) >= set(KEYS)
                and found
            ),
            timeout=40,
            what=f"all entities of {DESK}; hub log: {hub.log_text()[-1500:]}",
        )
        for key, component in KEYS.items():
            assert ids[key]["entity_id"].startswith(component + "."), (key, ids[key])
        entity = {key: e["entity_id"] for key, e in ids.items()}
        for key in DIAGNOSTIC:
            assert ids[key]["entity_category"] == "diagnostic", key
        assert ids["tare"]["entity_category"] == "config"
        (device,) = {e["device_id"] for e in ids.values()}
        device_entry = next(d for d in ha.devices() if d["id"] == device)
        wait_until(
            lambda: next(d for d in ha.devices() if d["id"] == device)["sw_version"] == "1.4.2",
            timeout=20,
            what="the chair's firmware on the device",
        )
        device_entry = next(d for d in ha.devices() if d["id"] == device)
        assert device_entry["name"] == "Chair desk-1"
        assert device_entry["hw_version"] == "esp32-devkit"
        assert ["mac", "24:6f:28:aa:bb:cc"] in device_entry["connections"]
        assert device_entry["configuration_url"] == STATUS_URL

        def state(key: str) -> dict:
            return ha.states()[entity[key]]

        def wait_state(key: str, want, timeout: float = 20.0) -> dict:
            check = want if callable(want) else (lambda v: v == want)
            return wait_until(
                lambda: check(state(key)["state"]) and state(key),
                timeout=timeout,
                what=f"{entity[key]} to be {want}; is {state(key)}",
            )

        # --- vacant, diagnostics --------------------------------------------------------
        wait_state("occupancy", "off")
        enum = wait_state("state", "vacant")
        assert enum["attributes"]["device_class"] == "enum"
        # MQTT sensors take "options" since Home Assistant 2024.4; older ones show the state only.
        if tuple(int(n) for n in ha.version.split(".")[:2]) >= (2024, 4):
            capabilities = ha.ws("config/entity_registry/get", entity_id=entity["state"])
            assert capabilities["capabilities"] == {
                "options": ["vacant", "seated", "alerting", "snoozed", "paused", "offline"]
            }
        wait_state("level", "0")
        wait_state("bout", "unknown")
        chair.telemetry()
        assert wait_state("rssi", "-61")["attributes"]["unit_of_measurement"] == "dBm"
        wait_state("heap", "39040")
        wait_state("drift", "12.5")
        assert wait_state("retare", "off")["attributes"]["device_class"] == "problem"
        wait_state("firmware", "1.4.2")
        assert int(wait_state("uptime", lambda v: v.isdigit())["state"]) >= 60
        wait_state("seen", lambda v: v.startswith("20"))

        # --- sit: occupancy, state, the bout's start ---------------------------------
        sat_at = time.time()
        chair.sit(True)
        wait_state("occupancy", "on")
        wait_state("state", "seated")
        since = wait_state("bout", lambda v: v not in ("unknown", "unavailable"))
        assert since["attributes"]["device_class"] == "timestamp"
        started = (
            time.mktime(time.strptime(since["state"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        )
        assert abs(started - sat_at) < 3, (since["state"], sat_at)

        # --- alert: state, level, an alert event ------------------------------------
        wait_state("state", "alerting", timeout=15)
        wait_state("level", "1")
        alerts = wait_state("alerts", lambda v: v not in ("unknown", "unavailable"))
        assert alerts["attributes"]["event_type"] == "alert"
        assert alerts["attributes"]["level"] == 1

        # --- the device page in Home Assistant's frontend, as the docs show it ----------
        shot = tmp_path / "ha-device.png"
        names = [str(e["original_name"]) for e in ids.values()]
        text = device_page(
            ha, device, tmp_path / "profile", shot, expect=["Chair desk-1", "alerting", *names]
        )
        assert "24:6f:28:aa:bb:cc" in text.lower() or "1.4.2" in text, text[:800]
        shutil.copyfile(shot, artifacts / f"homeassistant-device-{ha.version}.png")
        keep_for_docs(shot, ha.version, [v for v, _ in installs()])

        # --- snooze from the chair's button: both events -------------------------------
        chair.press("short")
        wait_state("state", "snoozed")
        wait_until(
            lambda: state("alerts")["attributes"].get("event_type") == "snooze",
            what="a snooze event",
        )
        assert state("button")["attributes"]["event_type"] == "press_short"

        # --- identify, twice: two requests, two commands with their own ids, acks matched ---
        ha.press(entity["buzz"])
        ha.press(entity["buzz"])
        wait_until(lambda: len(chair.commands("identify")) >= 2, what="two identify commands")
        identify = chair.commands("identify")
        assert len({c["id"] for c in identify}) == len(identify) == 2, identify
        assert all(c["id"].startswith("ha-") for c in identify), identify
        chair.ack(identify)
        wait_until(
            lambda: (
                metric(page, "sitless_command_acks_total", origin="homeassistant", outcome="ok")
                == 2
            ),
            what="both identify acks matched by the hub",
        )
        assert metric(page, "sitless_acks_unknown_total") == 0
        assert (
            metric(page, "sitless_commands_asked_total", origin="homeassistant", action="identify")
            == 2
        )

        # --- pause and resume from Home Assistant (the hub's own pause lasts 60 s) -------
        ha.press(entity["pause"])
        wait_state("state", "paused")
        wait_until(
            lambda: state("alerts")["attributes"].get("event_type") == "pause",
            what="a pause event",
        )
        ha.press(entity["resume"])
        wait_state("state", lambda v: v in ("alerting", "snoozed", "seated"), timeout=15)

        # --- the chair's baseline wanders: needs re-tare, on HA and the status page ------
        chair.telemetry(drift=-200000.0)
        wait_state("retare", "on")
        wait_until(lambda: desk_view(page).get("needs_retare") is True, what="needs re-tare")
        chair.telemetry()
        wait_state("retare", "off")

        # --- a break: vacant, no bout -----------------------------------------------
        chair.sit(False)
        wait_state("occupancy", "off")
        wait_state("state", "vacant", timeout=15)
        wait_state("bout", "unknown")

        # --- re-tare from Home Assistant, on the empty seat: sent under the press's id ---
        ha.press(entity["tare"])
        (tare,) = wait_until(lambda: chair.commands("tare"), what="a tare command")
        assert tare["id"].startswith("ha-"), tare
        assert tare["id"] not in {c["id"] for c in identify}
        chair.ack([tare])
        wait_until(
            lambda: (
                metric(page, "sitless_command_acks_total", origin="homeassistant", outcome="ok")
                == 3
            ),
            what="the tare's ack matched by the hub",
        )
        assert (
            metric(page, "sitless_commands_asked_total", origin="homeassistant", action="tare") == 1
        )
        assert metric(page, "sitless_acks_unknown_total") == 0

        # --- the chair goes offline -------------------------------------------------
        chair.send("status", "offline", retain=True)
        wait_state("occupancy", "unavailable")
        wait_state("rssi", "unavailable")
        wait_state("state", "offline")  # the hub's view stays available and says so
        chair.send("status", "online", retain=True)
        wait_state("occupancy", "off")

        # --- the hub restarts ---------------------------------------------------------
        assert hub.terminate() == 0
        wait_state("state", "unavailable")
        wait_state("occupancy", "off")  # the chair's own entities stay
        hub.start()
        wait_state("state", "vacant", timeout=30)

        # --- Home Assistant restarts: the hub announces again ---------------------
        watcher.clear()
        ha.restart()
        wait_until(ha.mqtt_loaded, timeout=30, what="MQTT loaded after the restart")
        wait_until(
            lambda: any(
                m.topic == f"homeassistant/sensor/{node}/state/config" and not m.retain
                for m in watcher.received()
            ),
            timeout=20,
            what="the hub's configs sent again after Home Assistant's birth message",
        )
        wait_state("state", "vacant", timeout=30)
        wait_state("occupancy", "off")
        assert {e["unique_id"] for e in ha.entities()} >= {f"{node}_{k}" for k in KEYS}

    finally:
        hub.terminate()
        chair.probe.close()
        watcher.close()
        (artifacts / f"homeassistant-hub-{ha.version}.log").write_text(hub.log_text())
