"""main.py: safe mode, the boot counter and a bad config never brick the board.

Real: MicroPython running the firmware's main.py in a folder that plays the
board's flash (config.json, bootcount). Stood in: the hardware (the safe-mode
pin is a fake pin level).
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.support.waiting import wait_until
from tests.support.upython import FIRMWARE, micropython_binary, micropython_path

MAIN = FIRMWARE / "main.py"


def start(flash, *, safe_pin_low=False):
    fake = flash / "fake"
    fake.mkdir(exist_ok=True)
    if safe_pin_low:
        (fake / "pin15").write_text("0")
    env = dict(os.environ, MICROPYPATH=micropython_path(), SITLESS_FAKE_DIR=str(fake))
    return subprocess.Popen([micropython_binary(), str(MAIN)], cwd=flash, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc):
    out, _ = proc.communicate(timeout=30)
    return proc.returncode, out


def test_safe_pin_held_low_skips_the_app(tmp_path):
    """Real main.py; the pin level is stood in."""
    (tmp_path / "config.json").write_text(json.dumps({"desk": "d1", "transport": "serial"}))
    code, out = finish(start(tmp_path, safe_pin_low=True))
    assert code == 0
    assert "safe mode (safe pin held low)" in out
    assert "SL " not in out


@pytest.mark.parametrize(("config", "message"), [
    ("{not json", "config: config.json is not valid JSON"),
    ({"desk": "Desk 1", "transport": "serial"}, "config: desk must match"),
    ({"desk": "d1", "transport": "serial", "sample_ms": "fast"},
     "config: sample_ms must be an integer"),
    ({"desk": "d1", "wifi_ssid": "home", "wifi_password": "hunter22"},
     "config: mqtt_host must be set for the wifi transport"),
])
def test_a_bad_config_is_named_on_the_console_and_the_board_stays_idle(tmp_path, config,
                                                                       message):
    """Real main.py and config checks; nothing stood in but the pins."""
    if config is not None:
        text = config if isinstance(config, str) else json.dumps(config)
        (tmp_path / "config.json").write_text(text)
    code, out = finish(start(tmp_path))
    assert code == 0, out
    assert f"sitless: not started: {message}" in out
    assert "Traceback" not in out
    assert "hunter22" not in out


def test_repeated_failed_boots_end_in_safe_mode(tmp_path):
    """Real main.py; five boots that never ran a minute were recorded before this one."""
    (tmp_path / "config.json").write_text(json.dumps({"desk": "d1", "transport": "serial"}))
    (tmp_path / "bootcount").write_text("5")
    code, out = finish(start(tmp_path))
    assert code == 0
    assert "safe mode after 5 boots" in out
    assert (tmp_path / "bootcount").read_text() == "0"


def test_a_good_config_starts_the_app_and_counts_the_boot(tmp_path):
    """Real main.py starting the real App on the serial transport; pins stood in."""
    (tmp_path / "config.json").write_text(json.dumps({"desk": "d1", "transport": "serial"}))
    proc = start(tmp_path)
    try:
        assert proc.stdout is not None
        line = wait_until(proc.stdout.readline, 20, "the first console line")
        assert line.startswith('SL {"k":"status","p":"online"}'), line
        assert (tmp_path / "bootcount").read_text() == "1"
    finally:
        proc.kill()
        proc.wait(timeout=10)
