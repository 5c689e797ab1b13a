"""The shipped broker configuration keeps every chair to its own desk.

Real: mosquitto with the shipped ACL file and the shipped authentication
settings, a password file made by mosquitto_passwd, paho clients. Stood in:
nothing; only the file paths are moved into the test's folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Mosquitto, find_binary, stop_all

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {"_hub": "hub-pass", "desk-1": "one-pass", "desk-2": "two-pass"}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    tmp_path = tmp_path_factory.mktemp("acl-broker")
    shipped = (DEPLOY / "mosquitto.conf").read_text()
    assert re.search(r"^allow_anonymous false$", shipped, re.MULTILINE)
    assert re.search(r"^password_file \S+$", shipped, re.MULTILINE)
    assert re.search(r"^acl_file \S+$", shipped, re.MULTILINE)
    passwd = tmp_path / "passwd"
    tool = find_binary("mosquitto_passwd")
    for user, password in PASSWORDS.items():
        flags = ["-b"] if passwd.exists() else ["-c", "-b"]
        subprocess.run([tool, *flags, str(passwd), user, password], check=True, capture_output=True)
    acl = tmp_path / "acl"
    shutil.copyfile(DEPLOY / "acl", acl)
    server = Mosquitto(
        tmp_path / "broker", extra_conf=f"password_file {passwd}\nacl_file {acl}", anonymous=False
    )
    server.start()
    yield server
    stop_all(server)


def login(broker: Mosquitto, user: str) -> MqttProbe:
    probe = MqttProbe(broker.host, broker.port, username=user, password=PASSWORDS[user])
    assert not probe.connect_rc.is_failure, f"{user} could not log in: {probe.connect_rc}"
    return probe


def leave(probe: MqttProbe) -> None:
    """Disconnect before stopping the loop, which otherwise waits out its one-second poll."""
    probe.client.disconnect()
    probe.close()


def attempt(broker: Mosquitto, user: str, topic: str) -> None:
    """Publish once at QoS 1 and wait until the broker acknowledged or dropped the client.

    Mosquitto answers a publish the ACL denies by closing a v3.1.1 client's
    connection, so either outcome means the broker has dealt with the message.
    """
    probe = login(broker, user)
    probe.client.reconnect_delay_set(min_delay=1, max_delay=1)
    try:
        info = probe.client.publish(topic, '{"forged": true}', qos=1)
        deadline = time.monotonic() + 15
        while not info.is_published() and probe.client.is_connected():
            assert time.monotonic() < deadline, "the broker neither acked nor dropped the client"
            time.sleep(0.02)
    finally:
        leave(probe)


@pytest.mark.parametrize(
    "topic",
    [
        "sitless/desk-2/occupancy",  # another desk's events
        "sitless/desk-2/status",
        "sitless/desk-1/cmd",  # commands: only the hub
        "sitless/desk-2/cmd",
        "sitless/desk-1/sitting",  # sitting state: only the hub
        "sitless/_hub/status",
    ],
)
def test_a_chair_cannot_write_as_another_desk_or_as_the_hub(broker, topic):
    """desk-1's forged message never reaches the hub; its own event, sent after, does."""
    hub = login(broker, "_hub")
    try:
        hub.subscribe("#")
        attempt(broker, "desk-1", topic)
        chair = login(broker, "desk-1")
        try:
            chair.publish("sitless/desk-1/occupancy", {"seated": True, "seq": 1})
        finally:
            leave(chair)
        hub.wait_topic("sitless/desk-1/occupancy", timeout=15)
        assert {m.topic for m in hub.received()} == {"sitless/desk-1/occupancy"}
    finally:
        leave(hub)


def test_a_chair_reads_only_its_own_commands(broker):
    """The hub may command any desk; desk-1, even subscribed to every cmd, gets only its own."""
    hub = login(broker, "_hub")
    chair = login(broker, "desk-1")
    try:
        chair.subscribe("sitless/+/cmd")
        chair.subscribe("sitless/+/occupancy")
        hub.publish("sitless/desk-2/cmd", {"id": "h-1", "action": "identify"})
        hub.publish("sitless/desk-2/occupancy", {"seated": True})
        hub.publish("sitless/desk-1/cmd", {"id": "h-2", "action": "identify"})
        got = chair.wait_topic("sitless/desk-1/cmd", timeout=15)
        assert got.json()["id"] == "h-2"
        assert {m.topic for m in chair.received()} == {"sitless/desk-1/cmd"}
    finally:
        leave(hub)
        leave(chair)


def test_anonymous_and_wrong_password_are_refused(broker):
    """No login, or a wrong password, is turned away at connect."""
    anonymous = MqttProbe(broker.host, broker.port)
    wrong = MqttProbe(broker.host, broker.port, username="desk-1", password="two-pass")  # noqa: S106 - test login
    try:
        assert anonymous.connect_rc.is_failure
        assert wrong.connect_rc.is_failure
    finally:
        leave(anonymous)
        leave(wrong)
