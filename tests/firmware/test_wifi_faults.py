"""WiFi and router faults: the chair rejoins, alerts by itself meanwhile and backfills in order.

Real: the MicroPython unix port running the firmware's App (its network task
with its own sockets, back-off and WiFi rejoin; its outbox with the flash part
in a folder that plays the board's flash), a private mosquitto behind a TCP
router the test cuts and restores, and paho watching with a lasting session;
the real defaults (30 min limit, 2 min break, 10 min snooze). Stood in: the
WiFi radio and its access point (tests/firmware/fakes/network.py: the test
makes it drop, refuse the association and come back), the sensor (fake ADC),
the hub (its retained `online` status, published by the test). The chair's
sampling runs on an injected clock that follows the real one while the link
is lost and found, and races through the outage (tests/firmware/mp/wifi_day.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from pathlib import Path

from tests.firmware.device import SessionWatcher
from tests.firmware.router import Router
from tests.support.servers import Mosquitto
from tests.support.upython import micropython_binary, micropython_path
from tests.support.waiting import wait_until

DAY = Path(__file__).resolve().parent / "mp" / "wifi_day.py"
MIN = 60_000
SAMPLE = 50


class Chair:
    """The script as a process, its console lines collected as they come."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.fake = workdir / "fake"
        self.fake.mkdir(parents=True)
        self.set_wifi("up")
        env = dict(
            os.environ,
            MICROPYPATH=micropython_path(DAY.parent),
            SITLESS_FAKE_DIR=str(self.fake),
            SITLESS_FAKE_ECHO="1",
        )
        self.proc = subprocess.Popen(
            [micropython_binary(), "-X", "heapsize=2M", str(DAY), str(port)],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def set_wifi(self, state: str) -> None:
        tmp = self.fake / "wifi.tmp"
        tmp.write_text(state)
        tmp.replace(self.fake / "wifi")

    def line(self, start: str, timeout: float) -> str:
        def found() -> str | None:
            return next((x for x in list(self.lines) if x.startswith(start)), None)

        try:
            return wait_until(found, timeout, repr(start))
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; output tail: {self.lines[-30:]}") from None

    def value(self, line: str, key: str) -> int:
        return int(next(w for w in line.split() if w.startswith(key + "="))[len(key) + 1 :])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def check_offline_alerts(line: str) -> None:
    """The chair alerted by itself while the link was down: at 30:00 to one sample, then,
    after the snooze at 30:10, at 40:10 a level higher; standing up silenced it."""
    alerts = [tuple(int(v) for v in a.split(",")) for a in line[len("ALERTS ") :].split(";") if a]
    offline_alerts = [(at, level) for at, level, connected in alerts if not connected and level]
    assert offline_alerts[:2] == [(offline_alerts[0][0], 1), (offline_alerts[1][0], 2)], alerts
    assert 30 * MIN <= offline_alerts[0][0] <= 30 * MIN + SAMPLE, alerts
    assert 40 * MIN + 10_000 <= offline_alerts[1][0] <= 40 * MIN + 10_000 + SAMPLE, alerts


def test_wifi_drop_refusal_and_return(tmp_path: Path, private_mosquitto: Mosquitto) -> None:
    broker = private_mosquitto
    router = Router((broker.host, broker.port))
    watcher = SessionWatcher(broker.host, broker.port, "sitless/d1/#")
    watcher.publish("sitless/_hub/status", "online", retain=True)  # the hub is there
    chair = Chair(tmp_path, router.port)
    try:
        settled = chair.line("STEP settled", 60)
        before = chair.value(settled, "seq")
        assert before >= 1  # at least the sitting down, acknowledged
        # The access point goes and the router with it: the link goes silent.
        chair.set_wifi("down")
        router.cut()
        # The radio says so at the next health check (each second of the chair's clock): the
        # link is closed then, not after the MQTT keepalive's 30 s of silence.
        lost = chair.line("STEP lost", 60)
        assert chair.value(lost, "after") <= 1000 + SAMPLE, lost
        assert "why=wifi_lost" in lost.split(), lost
        chair.line("mqtt: link lost: wifi lost", 1)  # on the console too
        # It comes back refusing the chair (a changed key): the chair keeps trying.
        chair.set_wifi("refuse")
        offline = chair.line("STEP offline", 60)
        assert chair.value(offline, "connected") == 0
        made = chair.value(offline, "seq")
        assert made == before + 3  # the snooze, standing up, sitting down again
        chair.line("FAKE wifi dropped", 1)  # the radio saw it at the health check's look
        chair.line("FAKE wifi refused", 60)
        router.restore()
        chair.set_wifi("up")
        back = chair.line("STEP back", 180)
        assert chair.value(back, "connects") >= 2  # it rejoined on its own
        assert chair.proc.wait(timeout=30) == 0, chair.lines[-30:]
    finally:
        chair.stop()
        router.close()

    check_offline_alerts(chair.line("ALERTS ", 1))

    # Every event reached the broker once, in the order made: the outage's from flash.
    def events() -> list[tuple[str, int]]:
        out = []
        for topic, body, _ in list(watcher.messages):
            if topic.endswith(("/occupancy", "/button")):
                msg = json.loads(body)
                out.append((msg["boot"], msg["seq"]))
        return out

    try:
        wait_until(lambda: len(events()) >= made, 30, "every event")
        got = events()
        boot = got[0][0]
        assert got == [(boot, seq) for seq in range(made)], got
        kinds = [
            t.rsplit("/", 1)[1]
            for t, _, _ in watcher.messages
            if t.endswith(("/occupancy", "/button"))
        ]
        assert kinds[before:] == ["button", "occupancy", "occupancy"], kinds
    finally:
        watcher.close()
