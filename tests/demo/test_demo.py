"""``sitless demo`` end to end, and the status page on the real hub.

Real: the ``sitless`` command as a subprocess (embedded amqtt broker, hub
service, local spool, simulated chairs running the firmware's own logic,
status page), SIGINT delivered to it, headless Chromium, the session
mosquitto and the hub service with its MQTT 5 transport.
Stood in: the people on the chairs (synthetic traces) and, in the second
test, the chair itself (a probe publishing what a board would).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from hub import config
from hub.core.service import HubService
from hub.web import StatusServer
from hub.web.status import ServiceSource

ROOT = Path(__file__).resolve().parents[2]


def desks_now(url: str) -> dict[str, str]:
    with urllib.request.urlopen(url + "api/desks", timeout=10) as resp:
        return {d["desk"]: d["state"] for d in json.load(resp)["desks"]}


def test_demo_chairs_change_state_and_ctrl_c_stops_it(tmp_path, browser, artifacts):
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "demo", "--port", "0", "--desks", "8", "--seed", "5"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        url = None
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline:
            assert proc.poll() is None, out_path.read_text()
            match = re.search(r"http://127\.0\.0\.1:\d+/", out_path.read_text())
            url = match.group(0) if match else None
            time.sleep(0.2)
        assert url, out_path.read_text()
        text = out_path.read_text()
        assert "limit" in text
        assert "embedded" in text

        seen: dict[str, set[str]] = {}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for desk, state in desks_now(url).items():
                seen.setdefault(desk, set()).add(state)
            if len(seen) == 8 and sum(len(s) >= 2 for s in seen.values()) >= 2:
                break
            time.sleep(0.5)
        assert len(seen) == 8, seen
        assert sum(len(s) >= 2 for s in seen.values()) >= 2, seen

        with urllib.request.urlopen(url + "api/desks", timeout=10) as resp:
            listed = json.load(resp)["desks"]
        assert all(isinstance(d["today_bouts"], int) for d in listed)
        with urllib.request.urlopen(url + "metrics", timeout=10) as resp:
            families = {f.name: f for f in text_string_to_metric_families(resp.read().decode())}
        assert families["sitless_messages_in"].samples[0].value > 0
        assert families["sitless_desks_online"].samples[0].value == 8

        browser.get(url)
        WebDriverWait(browser, 20).until(
            lambda b: len(b.find_elements(By.CSS_SELECTOR, ".desk")) == 8
        )
        browser.save_screenshot(str(artifacts / "demo-status-page.png"))
        browser.set_window_size(390, 844)
        browser.save_screenshot(str(artifacts / "demo-status-page-phone.png"))

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0, out_path.read_text()
        spool = re.search(r"(/\S+sitless-demo-\w+)/", out_path.read_text())
        assert spool
        assert not Path(spool.group(1)).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_demo_stops_cleanly_on_sigterm(tmp_path):
    """SIGTERM (how a service manager stops it) ends the demo with exit code 0."""
    out_path = tmp_path / "demo.out"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "demo", "--port", "0", "--desks", "2"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while "Ctrl-C" not in out_path.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, out_path.read_text()
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, out_path.read_text()
        assert "stopping" in out_path.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_page_follows_the_real_hub(mosquitto, probe, prefix, tmp_path, browser, artifacts):  # noqa: PLR0917 - pytest fixtures
    """A chair's messages published to the broker show up on the page as the hub sees them."""
    cfg = config.from_mapping(
        {
            "mqtt": {
                "url": f"mqtt://{mosquitto.host}:{mosquitto.port}",
                "prefix": prefix,
                "client_id": f"hub-{prefix.replace('/', '-')}"[:60],
            },
            "schedule": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "state_dir": str(tmp_path),
            "desks": {"desk-7": {"floor": "2", "zone": "east"}},
        }
    )
    service = HubService(cfg)
    service.start()
    page = StatusServer(ServiceSource(service), port=0, poll_s=0.2).start()
    try:
        deadline = time.monotonic() + 20
        while not service.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        probe.publish(f"{prefix}/desk-7/status", "online", retain=True)
        browser.get(page.url)
        wait = WebDriverWait(browser, 30, poll_frequency=0.1)

        def state(b):
            cards = b.find_elements(By.CSS_SELECTOR, '.desk[data-desk="desk-7"]')
            return cards[0].get_attribute("data-state") if cards else None

        wait.until(lambda b: state(b) == "vacant")
        probe.publish(
            f"{prefix}/desk-7/occupancy",
            {
                "seated": True,
                "seq": 1,
                "boot": "b1",
                "ts": time.time(),
                "uptime_ms": 1000,
                "value": 1800.0,
            },
            retain=True,
        )
        wait.until(lambda b: state(b) == "seated")
        browser.save_screenshot(str(artifacts / "status-page-real-hub.png"))
        # The page's pause button reaches the hub, and the hub's new state comes back.
        browser.find_element(By.CSS_SELECTOR, '.desk[data-desk="desk-7"]').click()
        wait.until(lambda b: b.find_element(By.ID, "pause").is_displayed())
        browser.find_element(By.ID, "pause").click()
        wait.until(lambda b: state(b) == "paused")
        browser.find_element(By.ID, "sheet-close").click()
        probe.publish(f"{prefix}/desk-7/status", "offline", retain=True)
        wait.until(lambda b: state(b) == "offline")
    finally:
        page.stop()
        service.stop()
        for kind in ("status", "occupancy"):
            probe.publish(f"{prefix}/desk-7/{kind}", "", retain=True)
