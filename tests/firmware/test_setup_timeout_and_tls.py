"""Setup mode's idle timeout and the broker's TLS settings on the setup form.

Real: MicroPython running the firmware's own main.py, setup page and asyncio
HTTP server on real loopback sockets; headless Chromium filling the form; the
firmware's own TLS code (MicroPython's ssl) reading the pasted CA certificate;
mosquitto (plain, and a TLS listener with a certificate from a throwaway CA)
that the chair joins after its restart. Stood in: the hardware (button, radio,
reset: see tests/firmware/setupboard.py) and setup mode's clock, which the
test puts minutes ahead instead of waiting for them.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from tests.firmware.device import SessionWatcher
from tests.firmware.setupboard import SetupBoard
from tests.firmware.test_tls_chair import TlsWatcher
from tests.reliability.rig import ThrowawayCA
from tests.support.browser import headless_chromium
from tests.support.servers import Mosquitto, free_port, stop_all
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

MIN = 60_000
CUT_SHORT = "is not a CA certificate the chair can read (cut short?)"
IDLE = "sitless: setup mode: no form for 10 minutes; restarting with the saved config"


def page(board: SetupBoard) -> str:
    with urllib.request.urlopen(board.url, timeout=15) as response:
        return str(response.read().decode())


def still_waiting(board: SetupBoard, at_ms: int) -> None:
    """The clock read at `at_ms` and once more after: setup mode looked and stayed."""
    board.skip(at_ms)
    board.skip(at_ms + 1)
    assert board.proc.poll() is None
    assert IDLE not in board.lines


def test_a_long_press_left_alone_for_ten_minutes_boots_the_saved_config(
    tmp_path: Path, private_mosquitto: Mosquitto
) -> None:
    """Real main.py, setup page and mosquitto; the button, radio and setup's clock stood in."""
    broker = private_mosquitto
    flash = tmp_path / "flash"
    flash.mkdir()
    saved = {
        "desk": "desk-4",
        "wifi_ssid": "home",
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
    }
    (flash / "config.json").write_text(json.dumps(saved))
    before = (flash / "config.json").read_bytes()
    board = SetupBoard(flash, button_held=True, port=free_port(), clocked=True)
    try:
        board.wait_line("sitless: setup mode:")
        still_waiting(board, 9 * MIN + 50_000)  # not yet ten minutes
        assert 'value="desk-4"' in page(board)  # someone opens the form: the count starts again
        still_waiting(board, 19 * MIN + 40_000)  # ten minutes since boot, not since the page
        board.skip(20 * MIN + 30_000)  # ten minutes and more since the page was asked for
        board.wait_line(IDLE)
        assert board.proc.wait(timeout=20) == 0
    finally:
        board.stop()
    assert board.lines[-1] == "FAKE reset"
    assert (flash / "config.json").read_bytes() == before  # nothing written

    # The restart, with nobody at the button: normal mode, onto the broker.
    watcher = SessionWatcher(broker.host, broker.port, "sitless/desk-4/status")
    again = SetupBoard(flash)
    try:
        wait_until(
            lambda: any(body == b"online" for _, body, _ in list(watcher.messages)),
            30,
            "the chair's status online",
        )
        assert "setup mode" not in again.output()
    finally:
        again.stop()
        watcher.close()


@pytest.mark.parametrize(
    ("config", "held"),
    [(None, False), ({"desk": "desk-5", "wifi_ssid": "home"}, True)],
    ids=["bare board", "config without a broker"],
)
def test_without_a_usable_config_setup_mode_stays(
    tmp_path: Path, config: dict[str, str] | None, *, held: bool
) -> None:
    """Real main.py and setup page over HTTP; the button, radio and setup's clock stood in."""
    flash = tmp_path / "flash"
    flash.mkdir()
    if config is not None:
        (flash / "config.json").write_text(json.dumps(config))
    board = SetupBoard(flash, button_held=held, port=free_port(), clocked=True)
    try:
        board.wait_line("sitless: setup mode:")
        still_waiting(board, 24 * 60 * MIN)  # a day: there is nothing else to boot into
        assert "<title>sitless chair setup</title>" in page(board)
    finally:
        board.stop()


@pytest.fixture
def ca(tmp_path: Path) -> ThrowawayCA:
    return ThrowawayCA(tmp_path / "pki")


@pytest.fixture
def tls_broker(tmp_path: Path, ca: ThrowawayCA) -> Iterator[Mosquitto]:
    server = ca.issue("server", server=True)
    broker = Mosquitto(
        tmp_path / "broker",
        extra_conf=f"cafile {ca.files.cert}\ncertfile {server.cert}\nkeyfile {server.key}\n",
    )
    broker.start()
    yield broker
    stop_all(broker)


def test_the_form_sets_tls_with_a_pasted_ca_and_names_each_bad_field(
    tmp_path: Path, ca: ThrowawayCA, tls_broker: Mosquitto
) -> None:
    """Real main.py, setup page, Chromium, ssl and a TLS mosquitto; the hardware stood in."""
    flash = tmp_path / "flash"
    flash.mkdir()
    pem = Path(ca.files.cert).read_text()
    board = SetupBoard(flash, port=free_port())
    driver = headless_chromium(tmp_path / "profile")

    def fill(name: str, value: str) -> None:
        field = driver.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)

    def refused() -> dict[str, str]:
        WebDriverWait(driver, 15).until(
            expected_conditions.presence_of_element_located((By.ID, "error"))
        )
        return {
            e.get_attribute("id") or "": e.text
            for e in driver.find_elements(By.CSS_SELECTOR, "div.err[id$='-error']")
        }

    try:
        board.wait_line("sitless: setup mode:")
        driver.get(board.url)
        fill("wifi_ssid", "office")
        fill("mqtt_host", tls_broker.host)
        fill("mqtt_port", "70000")
        fill("desk", "desk-9")
        Select(driver.find_element(By.ID, "sensor")).select_by_value("switch")
        fill("sensor_pin", "27")
        driver.find_element(By.ID, "mqtt_tls").click()
        # A bad port and a certificate cut short: both named, each by its own field.
        lines = pem.strip().splitlines()
        fill("mqtt_ca", "\n".join(lines[:3] + lines[-1:]))
        driver.find_element(By.ID, "save").click()
        assert refused() == {
            "mqtt_port-error": "must be between 1 and 65535",
            "mqtt_ca-error": CUT_SHORT,
        }
        alert = driver.find_element(By.ID, "error").text.splitlines()
        assert alert == [
            "Broker port (mqtt_port): must be between 1 and 65535",
            f"Broker's CA certificate (mqtt_ca): {CUT_SHORT}",
        ]
        assert driver.find_element(By.ID, "mqtt_tls").is_selected()  # kept as ticked
        # TLS with no certificate at all, where the board has none: named too.
        fill("mqtt_port", str(tls_broker.port))
        driver.find_element(By.ID, "mqtt_ca").clear()
        driver.find_element(By.ID, "save").click()
        assert refused() == {
            "mqtt_ca-error": "must be pasted for TLS: there is no ca.pem on the board"
        }
        assert not (flash / "config.json").exists()
        assert not list(flash.glob("ca.pem*"))
        # The whole certificate: saved, with the config that uses it.
        fill("mqtt_ca", pem)
        driver.find_element(By.ID, "save").click()
        WebDriverWait(driver, 15).until(
            expected_conditions.presence_of_element_located((By.ID, "saved"))
        )
        assert "over TLS" in driver.page_source
        assert board.proc.wait(timeout=20) == 0
    finally:
        driver.quit()
        board.stop()
    assert "sitless: setup refused: config: mqtt_port must be between 1 and 65535; " in (
        board.output()
    )
    restart_onto_tls(flash, pem, ca, tls_broker)


def restart_onto_tls(flash: Path, pem: str, ca: ThrowawayCA, tls_broker: Mosquitto) -> None:
    """The saved certificate and config; the restart in normal mode, onto the broker over TLS,
    trusting the pasted CA."""
    assert (flash / "ca.pem").read_text().strip() == pem.strip()
    saved = json.loads((flash / "config.json").read_text())
    assert (saved["mqtt_tls"], saved["mqtt_ca"], saved["mqtt_port"]) == (
        True,
        "ca.pem",
        tls_broker.port,
    )
    watcher = TlsWatcher(tls_broker, ca, "sitless/desk-9/status")
    again = SetupBoard(flash)
    try:
        wait_until(lambda: b"online" in watcher.payloads("sitless/desk-9/status"), 30, "online")
    finally:
        again.stop()
        watcher.close()
