"""Secrets stay secret: not in the hub's log, not in its errors, not in any ``--help``.

Real: the ``sitless`` command as a process, mosquitto with a password file,
an HTTP port with nobody behind it for InfluxDB v2 and Apprise. Stood in:
nothing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.servers import Mosquitto, find_binary, free_port, stop_all

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MQTT_SECRET = "mqtt-Secret-7f3a9c"  # noqa: S105 - a throwaway value the test looks for
FILE_SECRET = "file-Secret-2b8e41"  # noqa: S105 - a throwaway value the test looks for
TOKEN_SECRET = "token-Secret-c0ffee"  # noqa: S105 - a throwaway value the test looks for
NOTIFY_SECRET = "notify-Secret-d00d"  # noqa: S105 - a throwaway value the test looks for
SECRETS = (MQTT_SECRET, FILE_SECRET, TOKEN_SECRET, NOTIFY_SECRET)


def sitless(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub", *args]


def secret_env(tmp_path: Path, url: str) -> dict[str, str]:
    """Every kind of secret the hub takes, through the environment and a file."""
    token_file = tmp_path / "influx_token"
    token_file.write_text(TOKEN_SECRET + "\n")
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SITLESS_MQTT__URL": url,
        "SITLESS_MQTT__USERNAME": "hub",
        "SITLESS_MQTT__PASSWORD": MQTT_SECRET,
        "SITLESS_MQTT__PREFIX": "sec",
        "SITLESS_STATE_DIR": str(tmp_path / "state"),
        "SITLESS_HISTORY__API": "v2",
        "SITLESS_HISTORY__URL": f"http://127.0.0.1:{free_port()}",
        "SITLESS_HISTORY__ORG": "org",
        "SITLESS_HISTORY__BUCKET": "bucket",
        "SITLESS_HISTORY__TOKEN_FILE": str(token_file),
        "SITLESS_NOTIFY__URLS": f'["json://127.0.0.1:{free_port()}/{NOTIFY_SECRET}"]',
    }


def run_hub_for_a_while(env: dict[str, str], until: str, log: Path) -> str:
    """Run ``sitless -vv hub`` until its stderr shows ``until`` (bounded), then stop it."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            sitless("-vv", "hub"), env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and until not in log.read_text(errors="replace"):
                if proc.poll() is not None:
                    break
                time.sleep(0.1)
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(20)
    return log.read_text(errors="replace")


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked:\n{text[-2000:]}"


@pytest.fixture
def password_broker(tmp_path: Path):
    passwd = tmp_path / "passwd"
    subprocess.run(
        [find_binary("mosquitto_passwd"), "-c", "-b", str(passwd), "hub", "the-right-one"],
        check=True,
        capture_output=True,
    )
    broker = Mosquitto(tmp_path / "broker", f"password_file {passwd}", anonymous=False)
    broker.start()
    yield broker
    stop_all(broker)


def test_wrong_password_is_reported_without_the_password(tmp_path, password_broker):
    env = secret_env(tmp_path, password_broker.url)
    text = run_hub_for_a_while(env, "refused the connection", tmp_path / "hub.log")
    assert re.search(
        r"broker refused the connection: (Bad user name or password|Not authorized)", text
    ), text[-2000:]
    assert_no_secret(text)


def test_a_password_file_is_never_echoed_either(tmp_path, password_broker):
    secret_file = tmp_path / "mqtt_password"
    secret_file.write_text(FILE_SECRET + "\n")
    env = secret_env(tmp_path, password_broker.url)
    del env["SITLESS_MQTT__PASSWORD"]
    env["SITLESS_MQTT__PASSWORD_FILE"] = str(secret_file)
    text = run_hub_for_a_while(env, "refused the connection", tmp_path / "hub.log")
    assert "refused the connection" in text
    assert_no_secret(text)


def test_unreachable_broker_and_history_are_reported_without_secrets(tmp_path):
    env = secret_env(tmp_path, f"mqtt://127.0.0.1:{free_port()}")
    text = run_hub_for_a_while(env, "cannot connect to the broker", tmp_path / "hub.log")
    assert re.search(r"cannot connect to the broker at 127\.0\.0\.1:\d+: .*refused", text), text
    assert_no_secret(text)


def test_check_config_and_a_bad_config_show_no_secret(tmp_path):
    env = secret_env(tmp_path, "mqtt://127.0.0.1:1")
    ok = subprocess.run(
        sitless("-vv", "check-config"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    env["SITLESS_MQTT__KEEPALIVE"] = "forever"
    bad = subprocess.run(
        sitless("check-config"),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "mqtt.keepalive" in bad.stderr
    assert_no_secret(ok.stdout + ok.stderr + bad.stdout + bad.stderr)


def test_no_help_text_shows_a_secret(tmp_path):
    env = secret_env(tmp_path, "mqtt://127.0.0.1:1")
    top = subprocess.run(
        sitless("--help"), env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    commands = sorted(set(re.findall(r"^    (\S+)\s", top.stdout, re.MULTILINE)))
    assert {"hub", "check-config", "report"} <= set(commands), top.stdout
    seen = top.stdout
    for command in commands:
        out = subprocess.run(
            sitless(command, "--help"),
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, (command, out.stderr)
        assert "usage: sitless" in out.stdout
        seen += out.stdout + out.stderr
    assert_no_secret(seen)
