"""The shipped ACL: only Home Assistant's login may ask the hub for a desk (``P/D/request``).

Real: mosquitto with ``deploy/mosquitto/mosquitto.conf`` and the shipped ACL
(paths and listener moved into the test's folder, as in test_shipped_broker),
a password file made by mosquitto_passwd, paho clients logged in as the hub,
Home Assistant, discovery and a chair. Stood in: the chair (a paho client).

Mosquitto drops a publish its ACL refuses without telling the sender, so each
case ends with a marker the hub's login must see after it: what did not arrive
before the marker never will.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.brokers.test_shipped_broker import DEPLOY, ShippedMosquitto
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import stop_all

LOGINS = {
    "_hub": "hub-pass",
    "_homeassistant": "ha-pass",
    "_discovery": "hub-pass",
    "desk-1": "one-pass",
}


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShippedMosquitto]:
    server = ShippedMosquitto.started(tmp_path_factory.mktemp("request-acl"), LOGINS)
    yield server
    stop_all(server)


def login(broker: ShippedMosquitto, user: str) -> MqttProbe:
    # The shipped broker takes client ids from logins: one connection per login at a time.
    return MqttProbe(broker.host, broker.port, username=user, password=LOGINS[user])


def arrives(broker: ShippedMosquitto, sender: str, topic: str, reader: str = "_hub") -> bool:
    """Whether a publish by ``sender`` on ``topic`` reaches ``reader`` (before a marker)."""
    watch = login(broker, reader)
    who = login(broker, sender)
    try:
        watch.subscribe("sitless/#")
        body = {"id": f"t-{uuid.uuid4().hex[:8]}", "action": "identify"}
        who.publish(topic, body)
        # The marker comes from the hub's login, over a connection already open when there is
        # one: a second connection of the same login would end the first.
        opened = {"_hub": watch} if reader == "_hub" else {"_hub": who} if sender == "_hub" else {}
        hub = opened.get("_hub") or login(broker, "_hub")
        marker = (
            ("sitless/_hub/marker", "m")
            if reader == "_hub"
            else ("sitless/desk-1/cmd", {"id": "marker", "action": "clear"})
        )
        try:
            hub.publish(*marker)
            watch.wait_for(lambda m: m.topic == marker[0] and b"m" in m.payload)
        finally:
            if not opened:
                hub.close()
        return any(m.json() == body for m in watch.received(topic))
    finally:
        who.close()
        watch.close()


def test_home_assistant_may_ask_the_hub_and_nobody_else_may(broker):
    assert arrives(broker, "_homeassistant", "sitless/desk-1/request")
    assert not arrives(broker, "desk-1", "sitless/desk-1/request")
    assert not arrives(broker, "_discovery", "sitless/desk-1/request")


def test_home_assistant_no_longer_commands_a_chair_directly(broker):
    """Its buttons go through the hub, which sends the command under an id it can match."""
    assert not arrives(broker, "_homeassistant", "sitless/desk-1/cmd", reader="desk-1")
    assert arrives(broker, "_hub", "sitless/desk-1/cmd", reader="desk-1")


def test_the_acl_file_says_so():
    text = (DEPLOY / "acl").read_text()
    ha = text.split("user _homeassistant", 1)[1].split("\n\n", 1)[0]
    assert "topic write sitless/+/request" in ha
    assert "sitless/+/cmd" not in ha
