"""A working day of offline events survives power cuts and reaches the broker in order, once.

Real: the MicroPython unix port running the firmware's App (its outbox and
the flash part in a folder that plays the board's flash), first with the
broker away for two four-hour halves of a working day with a power cut after
each (the process ends without a goodbye; RTC memory is lost with it), then
booted a third time against a real mosquitto; paho watches what arrives.
Stood in: the hardware (fake ADC, pins, WiFi).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.firmware.device import Device, SessionWatcher
from tests.support.servers import free_port
from tests.support.upython import micropython_binary, micropython_path
from tests.support.waiting import wait_until

DAY = Path(__file__).resolve().parent / "mp" / "spool_day.py"


def offline_half_day(flash: Path) -> tuple[int, str]:
    env = dict(os.environ, MICROPYPATH=micropython_path())
    done = subprocess.run([micropython_binary(), "-X", "heapsize=2M", str(DAY), "4",
                           str(free_port())], cwd=flash, env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    made = next(x for x in done.stdout.splitlines() if x.startswith("MADE ")).split()
    return int(made[1]), made[2]


def test_a_day_of_offline_events_survives_power_cuts(tmp_path, private_mosquitto):
    broker = private_mosquitto
    first, boot1 = offline_half_day(tmp_path)
    second, boot2 = offline_half_day(tmp_path)
    assert first > 150  # a busy half day: 40 transitions an hour and a few presses
    assert second == first
    assert (tmp_path / "outbox.bin").stat().st_size == 512 * 48
    watcher = SessionWatcher(broker.host, broker.port, "sitless/d1/#")
    cfg = {"desk": "d1", "wifi_ssid": "x", "mqtt_host": broker.host, "mqtt_port": broker.port}
    device = Device(tmp_path, cfg)
    try:
        def arrived() -> list[tuple[str, int]]:
            out = []
            for topic, body, _ in list(watcher.messages):
                if topic.endswith(("/occupancy", "/button")):
                    msg = json.loads(body)
                    out.append((msg["boot"], msg["seq"]))
            return out

        wait_until(lambda: len([k for k in arrived() if k[0] in (boot1, boot2)])
                   >= first + second, 90, "the stored day")
        stored = [k for k in arrived() if k[0] in (boot1, boot2)]
        # In order (the first half, then the second), every event once.
        assert stored == [(boot1, s) for s in range(first)] + [(boot2, s) for s in range(second)]
        # Once sent, they are gone from flash: a reboot would not send them again.
        pos = tmp_path / "outbox.bin.pos"
        wait_until(lambda: pos.read_text() == str(first + second), 10, "the last ack")
    finally:
        device.stop()
        watcher.close()
