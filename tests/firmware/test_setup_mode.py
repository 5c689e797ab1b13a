"""Setup mode: a bare board (or a long press at boot) serves its setup page; a good form is saved.

Real: MicroPython running the firmware's own main.py, setup page and asyncio
HTTP server on real loopback sockets; headless Chromium (through chromedriver)
loading the page, filling the form and submitting it; a real mosquitto with a
password file that the chair joins after its restart; the hub's own
provisioning checks on the saved file. Stood in: the hardware (the button is a
fake pin level, the WiFi radio and its access point are the fake `network`,
the reset ends the process as `machine.reset` would restart the board). The
server listens on a free loopback port instead of port 80 on the access point.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.ui import WebDriverWait

from hub.board import provision
from tests.firmware.setupboard import SetupBoard
from tests.support.browser import headless_chromium
from tests.support.servers import Mosquitto, free_port, stop_all
from tests.support.upython import run_micropython
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

WIFI_SECRET = "wifi-pass-4711"  # noqa: S105 - test data, looked for in every output
MQTT_SECRET = "broker-pass-0815"  # noqa: S105 - same


@pytest.fixture
def password_broker(tmp_path: Path):
    passwd = tmp_path / "passwd"
    for i, (user, password) in enumerate((("chair-7", MQTT_SECRET), ("watch", "watch-pass"))):
        subprocess.run(
            ["mosquitto_passwd", "-b", *(["-c"] if i == 0 else []), str(passwd), user, password],
            check=True,
            capture_output=True,
        )
    passwd.chmod(0o600)
    broker = Mosquitto(tmp_path / "broker", f"password_file {passwd}", anonymous=False)
    broker.start()
    yield broker
    stop_all(broker)


def watch(broker: Mosquitto, topic: str) -> tuple[paho.Client, list[bytes]]:
    got: list[bytes] = []
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="setup-watch")
    client.username_pw_set("watch", "watch-pass")
    client.on_message = lambda _c, _u, msg: got.append(bytes(msg.payload))
    client.on_connect = lambda c, *_a: c.subscribe(topic, 1)
    client.connect(broker.host, broker.port, keepalive=10)
    client.loop_start()
    return client, got


def fill_the_form(driver: WebDriver, url: str, broker: Mosquitto, flash: Path) -> None:
    """Chromium on the setup page: a bad port (refused, named), then good values (saved)."""
    driver.get(url)
    assert driver.title == "sitless chair setup"

    def fill(name: str, value: str) -> None:
        field = driver.find_element(By.ID, name)
        field.clear()
        field.send_keys(value)

    # A bad port first: refused by the config checks, named on the page, nothing saved.
    fill("wifi_ssid", "office 2.4")
    fill("wifi_password", WIFI_SECRET)
    fill("mqtt_host", broker.host)
    fill("mqtt_port", "70000")
    fill("mqtt_user", "chair-7")
    fill("mqtt_password", MQTT_SECRET)
    fill("desk", "desk-7")
    Select(driver.find_element(By.ID, "sensor")).select_by_value("switch")
    fill("sensor_pin", "27")
    driver.find_element(By.ID, "save").click()
    error = WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.ID, "error"))
    )
    assert error.text == "Broker port (mqtt_port): must be between 1 and 65535"
    assert provision.key_problem("mqtt_port", 70000) == "must be between 1 and 65535"
    port_field = driver.find_element(By.ID, "mqtt_port")
    assert port_field.get_attribute("aria-invalid") == "true"
    assert driver.find_element(By.ID, "mqtt_port-error").text == ("must be between 1 and 65535")
    assert driver.find_element(By.ID, "desk").get_attribute("value") == "desk-7"
    assert driver.find_element(By.ID, "wifi_ssid").get_attribute("value") == "office 2.4"
    assert Select(driver.find_element(By.ID, "sensor")).first_selected_option.text == ("switch")
    for secret_field in ("wifi_password", "mqtt_password"):
        assert driver.find_element(By.ID, secret_field).get_attribute("value") == ""
    assert WIFI_SECRET not in driver.page_source
    assert MQTT_SECRET not in driver.page_source
    assert not (flash / "config.json").exists()

    # Then good values (passwords typed again: the page never holds them).
    fill("mqtt_port", str(broker.port))
    fill("wifi_password", WIFI_SECRET)
    fill("mqtt_password", MQTT_SECRET)
    driver.find_element(By.ID, "save").click()
    saved_heading = WebDriverWait(driver, 15).until(
        expected_conditions.presence_of_element_located((By.ID, "saved"))
    )
    assert saved_heading.text == "Saved"
    assert "desk-7" in driver.page_source
    assert WIFI_SECRET not in driver.page_source


def test_a_bare_board_is_set_up_from_a_browser_and_restarts_onto_the_broker(
    tmp_path, password_broker
):
    """Real main.py, setup page, Chromium, mosquitto with logins; pins and radio stood in."""
    flash = tmp_path / "flash"
    flash.mkdir()
    board = SetupBoard(flash, port=free_port())
    driver = headless_chromium(tmp_path / "profile")
    try:
        line = board.wait_line("sitless: setup mode:")
        # WPA2 with the board's own password: made at random, kept, printed on the console.
        found = re.search(
            r"join the WiFi network sitless-123456 \(password ([a-z2-9]{12})\) "
            r"and open http://192\.168\.4\.1/$",
            line,
        )
        assert found, line
        key = found.group(1)
        assert not set(key) & set("lo01")  # none of the characters easy to misread
        assert (flash / "setup.key").read_text() == key
        ap = board.wait_line("FAKE wifi ap ")
        for setting in ("'authmode': 3", "'essid': 'sitless-123456'", f"'password': '{key}'"):
            assert setting in ap, ap  # WPA2-PSK (network.AUTH_WPA2_PSK), that name, that key
        fill_the_form(driver, board.url, password_broker, flash)

        assert board.proc.wait(timeout=20) == 0  # the reset
        board.stop()
    finally:
        driver.quit()
        board.stop()
    out = board.output()
    assert "sitless: setup refused: config: mqtt_port must be between 1 and 65535" in out
    assert "sitless: setup saved the config for desk desk-7; restarting" in out
    assert out.splitlines()[-1] == "FAKE reset"
    assert WIFI_SECRET not in out
    assert MQTT_SECRET not in out

    saved = json.loads((flash / "config.json").read_text())
    assert {
        key: saved[key]
        for key in (
            "transport",
            "wifi_ssid",
            "wifi_password",
            "mqtt_host",
            "mqtt_port",
            "mqtt_user",
            "mqtt_password",
            "desk",
            "sensor",
            "sensor_pin",
            "sensor_clk_pin",
            "prefix",
        )
    } == {
        "transport": "wifi",
        "wifi_ssid": "office 2.4",
        "wifi_password": WIFI_SECRET,
        "mqtt_host": password_broker.host,
        "mqtt_port": password_broker.port,
        "mqtt_user": "chair-7",
        "mqtt_password": MQTT_SECRET,
        "desk": "desk-7",
        "sensor": "switch",
        "sensor_pin": 27,
        "sensor_clk_pin": None,
        "prefix": "sitless",
    }
    # The hub's provisioning checks accept the same file.
    mirrored = {key: saved[key] for key in provision.KEYS}
    assert provision.validate(mirrored) == mirrored

    # The restart: normal mode, onto the broker with the login from the page.
    client, status = watch(password_broker, "sitless/desk-7/status")
    again = SetupBoard(flash)
    try:
        wait_until(lambda: b"online" in status, 30, "the chair's status online")
        assert "setup mode" not in again.output()
    finally:
        again.stop()
        client.loop_stop()
        client.disconnect()


def _post(url: str, fields: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode())
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_a_long_press_at_boot_opens_setup_and_keeps_what_the_board_had(tmp_path):
    """Real main.py and setup page over real HTTP; the held button is a fake pin level."""
    flash = tmp_path / "flash"
    flash.mkdir()
    before = {
        "desk": "desk-3",
        "wifi_ssid": "home",
        "wifi_password": WIFI_SECRET,
        "mqtt_host": "10.0.0.2",
        "mqtt_user": "chair",
        "mqtt_password": MQTT_SECRET,
        "empty": 120000,
        "occupied": 1500000,
        "limit_s": 2400,
    }
    (flash / "config.json").write_text(json.dumps(before))
    (flash / "setup.key").write_text("kept from the first setup\n")  # or one of the owner's
    board = SetupBoard(flash, button_held=True, port=free_port())
    try:
        line = board.wait_line("sitless: setup mode:")
        assert "(password kept from the first setup)" in line
        ap = board.wait_line("FAKE wifi ap ")
        assert "'password': 'kept from the first setup'" in ap, ap
        assert "'authmode': 3" in ap, ap
        with urllib.request.urlopen(board.url, timeout=15) as response:
            page = response.read().decode()
        assert 'id="desk" name="desk" value="desk-3"' in page
        assert 'id="mqtt_host" name="mqtt_host" value="10.0.0.2"' in page
        assert "saved; leave blank to keep it" in page
        assert WIFI_SECRET not in page
        assert MQTT_SECRET not in page
        fields = {
            "wifi_ssid": "home",
            "wifi_password": "",
            "mqtt_host": "broker.lan",
            "mqtt_port": "",
            "mqtt_user": "chair",
            "mqtt_password": "",
            "desk": "desk-3",
            "sensor": "adc",
            "sensor_pin": "",
            "sensor_clk_pin": "",
        }
        status, answer = _post(board.url, {**fields, "desk": "Desk 3"})
        assert status == 400
        assert "Desk id (desk): must match" in answer
        status, answer = _post(board.url, fields)
        assert status == 200, answer
        assert board.proc.wait(timeout=20) == 0
    finally:
        board.stop()
    saved = json.loads((flash / "config.json").read_text())
    assert saved["mqtt_host"] == "broker.lan"
    assert saved["mqtt_port"] == 1883
    for key in (
        "desk",
        "wifi_ssid",
        "wifi_password",
        "mqtt_user",
        "mqtt_password",
        "empty",
        "occupied",
        "limit_s",
    ):
        assert saved[key] == before[key], key
    assert "FAKE pin 2 0" in board.output()  # the LED lit for the press window, then off


def _exchange(port: int, data: bytes, timeout: float = 20) -> bytes:
    """Send `data` and end the sending side, then read the answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):  # the server may have refused and closed already
            sock.shutdown(socket.SHUT_WR)
        return _read_all(sock)


def _read_all(sock: socket.socket) -> bytes:
    got = b""
    try:
        while chunk := sock.recv(4096):
            got += chunk
    except ConnectionResetError:
        pass  # closed with bytes of ours unread: what came before stands
    return got


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.0 ") else 0


def test_hostile_clients_are_refused_and_the_server_keeps_serving(tmp_path):
    """Real main.py and HTTP server on loopback sockets; nothing stood in but the hardware."""
    flash = tmp_path / "flash"
    flash.mkdir()
    board = SetupBoard(flash, port=free_port())
    port = board.port
    assert port is not None
    good = b"GET / HTTP/1.0\r\nHost: chair\r\n\r\n"
    try:
        board.wait_line("sitless: setup mode:")
        cases = [
            (b"POST / HTTP/1.0\r\nContent-Length: 100000\r\n\r\n", 413),
            (b"POST / HTTP/1.0\r\nContent-Length: 12x\r\n\r\n", 400),
            (b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", 400),
            (b"\x00\xff\xfe\x80 garbage\r\n\r\n", 400),
            (b"HELLO\r\n\r\n", 400),
            (b"GET http://elsewhere/ SMTP/2\r\n\r\n", 400),
            (b"GET / HTTP/1.0\r\nX-Pad: " + b"a" * 3000 + b"\r\n\r\n", 431),
            (b"GET / HTTP/1.0\r\n" + b"X-A: 1\r\n" * 40 + b"\r\n", 431),
            (b"POST / HTTP/1.0\r\nContent-Length: 10\r\n\r\nabc", 400),  # the rest never comes
        ]
        for request, expected in cases:
            answer = _exchange(port, request)
            assert _status(answer) == expected, (request[:40], answer[:80])
            assert _status(_exchange(port, good)) == 200, request[:40]

        # Slow headers: one line a second. Others are served meanwhile; the slow one gets 408
        # when its ten seconds are up.
        slow = socket.create_connection(("127.0.0.1", port), timeout=30)
        started = time.monotonic()
        slow.sendall(b"GET / HTTP/1.0\r\n")
        for _ in range(3):
            time.sleep(1)
            slow.sendall(b"X-Slow: 1\r\n")
            begun = time.monotonic()
            assert _status(_exchange(port, good)) == 200
            assert time.monotonic() - begun < 5
        # Three silent clients more make four held: a fifth is turned away at once.
        silent = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(3)]
        time.sleep(0.5)
        assert _status(_exchange(port, good, timeout=5)) == 503
        answer = _read_all(slow)
        assert _status(answer) == 408
        assert time.monotonic() - started >= 9.5
        for sock in silent:
            assert _status(_read_all(sock)) == 408
            sock.close()
        slow.close()
        answer = _exchange(port, good)
        assert _status(answer) == 200
        assert b"<title>sitless chair setup</title>" in answer
        assert board.proc.poll() is None
    finally:
        board.stop()
    assert "Traceback" not in board.output()


def _query(name: str, qtype: int, ident: int) -> bytes:
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return (
        ident.to_bytes(2, "big")
        + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        + labels
        + (b"\x00" + qtype.to_bytes(2, "big") + b"\x00\x01")
    )


def test_every_name_resolves_to_the_board_so_a_phone_opens_the_page(tmp_path):
    """Real main.py and the setup mode's DNS on a loopback UDP port; queries built here."""
    flash = tmp_path / "flash"
    flash.mkdir()
    board = SetupBoard(flash, port=free_port())
    assert board.port is not None
    try:
        board.wait_line("sitless: setup mode:")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(5)
            target = ("127.0.0.1", board.port)
            for ident, name in enumerate(("connectivitycheck.gstatic.com", "captive.apple.com")):
                query = _query(name, 1, 0x1200 + ident)
                sock.sendto(query, target)
                reply = sock.recv(512)
                assert reply[:2] == query[:2]  # the same id
                assert reply[2] & 0x80  # a response
                assert reply[3] & 0x0F == 0  # no error
                assert reply[4:8] == b"\x00\x01\x00\x01"  # one question, one answer
                assert reply[12 : len(query)] == query[12:]
                assert reply[-4:] == bytes([192, 168, 4, 1])  # the access point's address
            # Garbage is ignored and the next query still answered; AAAA gets no address.
            sock.sendto(b"\xff" * 40, target)
            sock.sendto(b"\x00", target)
            sock.sendto(_query("example.org", 28, 7), target)
            reply = sock.recv(512)
            assert reply[:2] == b"\x00\x07"
            assert reply[6:8] == b"\x00\x00"  # no answer
        # The check page a phone fetches is the form.
        with urllib.request.urlopen(board.url + "generate_204", timeout=15) as response:
            assert response.status == 200
            assert "<title>sitless chair setup</title>" in response.read().decode()
        assert board.proc.poll() is None
    finally:
        board.stop()


FORM_SCRIPT = r"""
from sitless import setup, setupform
s = setup.Setup("none.json")
form = (b"wifi_ssid=%3Cb%3Eoffice%22&desk=%22%3E%3Cscript%3Ex&mqtt_host=h&sensor_pin=-5"
        b"&wifi_password=p%26w+x&evil=1&sensor=")
status, page = s.handle("POST", "/", form)
print("STATUS", status)
print("ESCAPED", "&lt;b&gt;office&quot;" in page, "<script>" not in page, "p&w x" not in page,
      'value="&quot;&gt;&lt;script&gt;x"' in page)
alert = page[page.index('id="error">') : page.index("</div>", page.index('id="error"'))]
print("ERRORS", "|".join(p.split("</p>")[0] for p in alert.split("<p>")[1:]))
print("BY", 'id="desk-error"' in page, 'id="sensor_pin-error"' in page, page.count('class="err"'))
print("PARSED", sorted(setupform.parse_form(form).items()))
print("CHANGES", setupform.changes({"sensor_pin": "-5", "sensor": "", "mqtt_port": "12x"}, {}))
print("GET", s.handle("GET", "/generate_204?x=1", b"")[0], s.handle("PUT", "/", b"")[0])
"""


def test_the_form_escapes_what_it_echoes_and_reads_what_a_browser_sends():
    """Real MicroPython running the setup module's form handling; no sockets, nothing stood in."""
    result = run_micropython(FORM_SCRIPT)
    assert result.returncode == 0, result.stderr
    out = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert out["STATUS"] == "400"
    assert out["ESCAPED"] == "True True True True"
    # Both bad fields named, each once, in the form's order, each by its own field too.
    assert out["ERRORS"] == (
        "Desk id (desk): must match ^[a-z0-9][a-z0-9_-]{0,47}$"
        "|Sensor pin (sensor_pin): must be between 0 and 48"
    )
    assert out["BY"] == "True True 3"  # the alert and one message by each field
    assert "('wifi_password', 'p&w x')" in out["PARSED"]
    assert "evil" not in out["PARSED"]
    changes = out["CHANGES"]
    assert "'sensor_pin': -5" in changes
    assert "'mqtt_port': '12x'" in changes
    assert "'sensor'" not in changes  # blank: the default or what the board had
    assert out["GET"] == "200 405"
