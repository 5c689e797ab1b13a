"""The shipped broker configuration: no chair can take another's client id or the hub's.

Real: mosquitto run with ``deploy/mosquitto/mosquitto.conf`` itself (only its
listener, file paths and log destination are moved into the test's folder),
the shipped ACL, a password file made by mosquitto_passwd, the ``sitless hub``
process, paho clients for the chairs. Stood in: the ESP32s, by paho clients.

Without ``use_username_as_clientid`` a chair logging in with desk-2's client
id made the broker end desk-2's connection and publish its last will, again
and again; logging in with the hub's client id kicked the hub off.
"""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import LimitsConfig
from tests.brokers.rig import BrokerHub
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Mosquitto, find_binary, stop_all

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {
    "_hub": "hub-pass",
    "_health": "hub-pass",
    "desk-1": "one-pass",
    "desk-2": "two-pass",
    "watcher": "watch-pass",
}
# A login of the test's own that may read everything (each login has one connection).
WATCHER_ACL = "\nuser watcher\ntopic read sitless/#\n"


class ShippedMosquitto(Mosquitto):
    """mosquitto with the shipped configuration; paths and the listener moved to the test."""

    def __init__(self, workdir: Path, passwd: Path, acl: Path) -> None:
        super().__init__(workdir, anonymous=False)
        moved = {
            "listener": f"listener {self.port} {self.host}",
            "password_file": f"password_file {passwd}",
            "acl_file": f"acl_file {acl}",
            "persistence_location": f"persistence_location {workdir}/",
            "log_dest": "log_dest stdout",
        }
        # In place, because order matters: options before the first listener line
        # would make mosquitto open its default listener on 1883.
        lines = [
            moved.get(line.split(" ", 1)[0], line)
            for line in (DEPLOY / "mosquitto.conf").read_text().splitlines()
        ]
        # As root, mosquitto would drop to its own user and not reach our folder.
        if os.getuid() == 0:
            lines.insert(0, f"user {pwd.getpwuid(os.getuid()).pw_name}")
        self.conf_path.write_text("\n".join(lines) + "\n")

    @classmethod
    def started(cls, folder: Path, logins: dict[str, str], extra_acl: str = "") -> ShippedMosquitto:
        """Started in ``folder`` with ``logins`` and the shipped ACL followed by ``extra_acl``."""
        passwd = folder / "passwd"
        tool = find_binary("mosquitto_passwd")
        for user, password in logins.items():
            flags = ["-b"] if passwd.exists() else ["-c", "-b"]
            command = [tool, *flags, str(passwd), user, password]
            subprocess.run(command, check=True, capture_output=True)
        acl = folder / "acl"
        acl.write_text((DEPLOY / "acl").read_text() + extra_acl)
        server = cls(folder / "broker", passwd, acl)
        server.start()
        return server


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedMosquitto]:
    server = ShippedMosquitto.started(
        tmp_path_factory.mktemp("shipped-broker"), PASSWORDS, WATCHER_ACL
    )
    yield server
    stop_all(server)


class Chair:
    """A chair's connection: its login, the client id it asks for, a last will, its drops."""

    def __init__(self, broker: Mosquitto, user: str, client_id: str) -> None:
        self.disconnects = 0
        self.connected = threading.Event()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.username_pw_set(user, PASSWORDS[user])
        self.client.will_set(f"sitless/{user}/status", "offline", qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        assert self.connected.wait(10), f"{user} could not log in"

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        if not rc.is_failure:
            self.connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self.disconnects += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def watcher(broker: Mosquitto) -> MqttProbe:
    probe = MqttProbe(broker.host, broker.port, username="watcher", password=PASSWORDS["watcher"])
    probe.subscribe("sitless/#")
    return probe


def test_the_shipped_config_ties_client_ids_to_logins_and_limits_payloads():
    """The two settings are there, and the size limit is the hub's own payload limit."""
    shipped = (DEPLOY / "mosquitto.conf").read_text()
    assert re.search(r"^use_username_as_clientid true$", shipped, re.MULTILINE)
    limit = re.search(r"^message_size_limit (\d+)$", shipped, re.MULTILINE)
    assert limit is not None
    assert int(limit.group(1)) == LimitsConfig().max_payload


def test_the_shipped_config_lets_a_rush_of_alerts_be_in_flight_at_once():
    """mosquitto's Receive Maximum for the hub: thousands, yet below what the hub's inbox holds."""
    shipped = (DEPLOY / "mosquitto.conf").read_text()
    inflight = re.search(r"^max_inflight_messages (\d+)$", shipped, re.MULTILINE)
    assert inflight is not None
    assert 10_000 <= int(inflight.group(1)) < LimitsConfig().queue_size


def test_a_chair_cannot_take_another_chairs_client_id(broker):
    """desk-1 asks for desk-2's client id: desk-2 stays connected, its last will is never sent."""
    watch = watcher(broker)
    victim = Chair(broker, "desk-2", "desk-2")
    try:
        intruders = [Chair(broker, "desk-1", "desk-2") for _ in range(3)]
        time.sleep(2.5)  # paho reconnects within a second of being kicked
        assert victim.disconnects == 0
        assert not [m for m in watch.received("sitless/desk-2/status") if m.payload == b"offline"]
        for intruder in intruders:
            assert intruder.connected.is_set()  # logged in, under its own name
            intruder.close()
    finally:
        victim.close()
        watch.close()


def test_a_chair_cannot_take_the_hubs_client_id(broker, tmp_path):
    """desk-1 asks for the hub's configured id, and for ``_hub``: the hub keeps its connection."""
    password = tmp_path / "hub-password"
    password.write_text(PASSWORDS["_hub"])
    watch = watcher(broker)
    hub = BrokerHub(
        tmp_path / "hub",
        broker.url,
        "sitless",
        client_id="sitless-hub",
        mqtt_extra=f'username = "_hub"\npassword_file = "{password}"',
    )
    try:
        hub.start(watch)
        intruders = [Chair(broker, "desk-1", "sitless-hub"), Chair(broker, "desk-1", "_hub")]
        time.sleep(2.5)
        assert len(hub.connects()) == 1, hub.log()[-2000:]
        assert [m.payload for m in watch.received("sitless/_hub/status")][-1] == b"online"
        for intruder in intruders:
            intruder.close()
    finally:
        hub.stop()
        watch.close()


def test_the_healthcheck_login_does_not_end_the_hubs_connection(broker, tmp_path):
    """The compose healthcheck's own login reads the uptime and leaves the hub alone."""
    compose = (DEPLOY.parents[1] / "docker-compose.yml").read_text()
    assert "-u _health " in compose
    password = tmp_path / "hub-password"
    password.write_text(PASSWORDS["_hub"])
    hub = BrokerHub(
        tmp_path / "hub",
        broker.url,
        "sitless",
        mqtt_extra=f'username = "_hub"\npassword_file = "{password}"',
    )
    try:
        hub.start()
        check = subprocess.run(
            [
                find_binary("mosquitto_sub"),
                *("-h", broker.host, "-p", str(broker.port), "-u", "_health"),
                *("-P", PASSWORDS["_health"], "-t", "$SYS/broker/uptime", "-C", "1", "-W", "5"),
            ],
            capture_output=True,
            check=False,
            timeout=10,
        )
        assert check.returncode == 0, check.stderr
        time.sleep(0.5)
        assert len(hub.connects()) == 1, hub.log()[-2000:]
    finally:
        hub.stop()


def test_a_payload_over_the_limit_is_refused_by_the_broker(broker):
    """One byte over ``limits.max_payload`` never reaches the hub; exactly the limit does."""
    watch = watcher(broker)
    chair = MqttProbe(broker.host, broker.port, username="desk-1", password=PASSWORDS["desk-1"])
    limit = LimitsConfig().max_payload
    try:
        chair.client.publish("sitless/desk-1/telemetry", b"x" * (limit + 1), qos=1)
        chair.publish("sitless/desk-1/info", b"y" * limit)
        got = watch.wait_topic("sitless/desk-1/info", timeout=10)
        assert len(got.payload) == limit
        time.sleep(0.5)
        assert not watch.received("sitless/desk-1/telemetry")
    finally:
        chair.close()
        watch.close()
