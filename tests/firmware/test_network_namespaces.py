"""A real network between the chair and its broker: cut, then degraded, and nothing is lost.

Real: the MicroPython unix port running the firmware as on the board
(tests/firmware/run_app.py: its tasks, its sockets, its outbox with the flash
part) in a network namespace of its own, mosquitto in another, the two joined
only by a veth pair on a private /30; the link is taken down (`ip link set
down`) and later made lossy and slow (`tc netem loss 30% delay 200ms`, or on a
kernel without netem, nftables dropping 30% each way and a token bucket
slowing it); paho watches through the broker's unix socket, which needs no
network. Stood in: the sensor (fake ADC) and the WiFi radio (always
associated: the faults here are the network's). The test makes its own
namespaces and removes them even when it fails; without root or `ip netns`
it is skipped, saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.firmware import netns
from tests.firmware.device import Device, SessionWatcher
from tests.support.servers import find_binary
from tests.support.waiting import wait_until

SEATED_UV = 1_600_000
EMPTY_UV = 100_000


@pytest.fixture
def pair() -> Iterator[netns.NetPair]:
    reason = netns.unavailable()
    if reason is not None:
        print(f"skipped: {reason}")
        pytest.skip(reason)
    with netns.NetPair() as made:
        yield made


class Broker:
    """mosquitto in the broker's namespace: the veth address for the chair, a unix socket for us."""

    def __init__(self, workdir: Path, pair: netns.NetPair) -> None:
        workdir.mkdir()
        self.socket = workdir / "broker.sock"
        self.log = workdir / "mosquitto.log"
        conf = workdir / "mosquitto.conf"
        conf.write_text(
            "\n".join(
                [
                    *(["user root"] if os.getuid() == 0 else []),
                    f"listener 1883 {netns.BROKER_IP}",
                    f"listener 0 {self.socket}",
                    "allow_anonymous true",
                    "log_type all",
                    f"log_dest file {self.log}",
                ]
            )
            + "\n"
        )
        self.proc = subprocess.Popen(
            [*pair.wrap(pair.broker), find_binary("mosquitto"), "-c", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        wait_until(lambda: self.socket.exists() or self.proc.poll() is not None, 10, "mosquitto")
        assert self.proc.poll() is None, self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def events(watcher: SessionWatcher) -> list[tuple[str, int]]:
    out = []
    for topic, body, _ in list(watcher.messages):
        if topic.endswith(("/occupancy", "/button")):
            msg: dict[str, Any] = json.loads(body)
            out.append((msg["boot"], msg["seq"]))
    return out


def transition(device: Device, level: int, seated: bool) -> None:
    """Take or leave the seat; wait (bounded) for the chair to confirm it."""
    before = len(device.sl("occupancy"))
    device.set_adc(level)
    wait_until(lambda: len(device.sl("occupancy")) > before, 20, "a transition")
    assert device.sl("occupancy")[-1]["seated"] is seated


def wait_events(device: Device, watcher: SessionWatcher, count: int, timeout: float) -> None:
    try:
        wait_until(lambda: len(events(watcher)) >= count, timeout, f"{count} events at the broker")
    except TimeoutError as exc:
        said = [line for line in device.output() if not line.startswith(("SL ", "FAKE "))]
        msg = f"{exc}; got {events(watcher)}; the chair said: {said[-20:]}"
        raise TimeoutError(msg) from None


def lost_links(device: Device) -> int:
    return sum(line.startswith("mqtt: link lost") for line in device.output())


def test_the_chair_rides_out_a_cut_and_a_lossy_slow_link(
    tmp_path: Path, pair: netns.NetPair
) -> None:
    broker = Broker(tmp_path / "broker", pair)
    watcher = SessionWatcher(str(broker.socket), 1883, "sitless/d1/#", unix=True)
    cfg = {"desk": "d1", "wifi_ssid": "office", "mqtt_host": netns.BROKER_IP, "mqtt_port": 1883}
    device = Device(tmp_path / "chair", cfg, adc_uv=EMPTY_UV, wrap=pair.wrap(pair.chair))
    try:
        device.wait_line(lambda line: line.startswith("mqtt: connected"), 30)
        transition(device, SEATED_UV, seated=True)
        wait_until(lambda: len(events(watcher)) >= 1, 20, "the first event over the link")

        # The link goes down: the chair sees a silent broker, keeps its events, reconnects.
        pair.cut()
        for _ in range(2):
            transition(device, EMPTY_UV, seated=False)
            transition(device, SEATED_UV, seated=True)
        device.wait_line(lambda line: line.startswith("mqtt: link lost"), 60)
        made = device.sl("occupancy")[-1]["seq"] + 1
        assert len(events(watcher)) < made  # the cut held them back
        pair.restore()
        wait_events(device, watcher, made, 90)  # the backfill after the cut
        assert lost_links(device) == 1

        # A lossy, slow link: TCP carries the chair through, or it reconnects.
        how = pair.degrade()
        print(f"degraded: {how}")
        for _ in range(2):
            transition(device, EMPTY_UV, seated=False)
            transition(device, SEATED_UV, seated=True)
        made = device.sl("occupancy")[-1]["seq"] + 1
        # Mostly they arrive over the lossy link itself; a link that died there may still be
        # in its back-off (it grows while connections die young) when the loss ends.
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: len(events(watcher)) >= made, 60, "the events over the lossy link")
        print(f"over the lossy link: {len(events(watcher))} of {made} events")
        assert pair.dropped() > 0  # the link really lost packets meanwhile
        pair.clear()
        wait_events(device, watcher, made, 90)
        got = events(watcher)
        boot = got[0][0]
        first = list(dict.fromkeys(got))  # each (boot, seq) where it first arrived
        assert first == [(boot, seq) for seq in range(made)], got
        # A repeat can only be a message resent after a link died before its PUBACK.
        if lost_links(device) == 1:
            assert len(got) == len(first), got
    finally:
        device.stop()
        watcher.close()
        broker.stop()
