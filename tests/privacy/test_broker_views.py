"""Who can read a desk's retained sitting view on the shipped broker, in both privacy modes.

Real: mosquitto started by the shipped entrypoint, the shipped ACL file and
login settings, the chairs' logins added with mosquitto_passwd, paho clients
(tests/privacy/broker.py). Stood in: the hub, by a client on the hub's login
that publishes two retained sitting views. The person's own Home Assistant
login is the example block of the shipped ACL, made live for desk-7.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.privacy.broker import HA_PASSWORD, HUB_PASSWORD, EntrypointBroker, leave, person_login

CHAIRS = {"desk-1": "one-pass", "desk-7": "seven-pass", "facilities": "fac-pass"}
VIEW = {"state": "seated", "seated_s": 60, "level": 0, "since": 1.0, "ts": 2.0}


@pytest.fixture(scope="module", params=["desk", "aggregate"])
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EntrypointBroker]:
    folder = tmp_path_factory.mktemp(f"broker-{request.param}")
    server = EntrypointBroker(folder, request.param, CHAIRS, "desk-7")
    server.start()
    hub = server.login("_hub")
    try:
        for desk in ("desk-1", "desk-7"):
            hub.publish(f"sitless/{desk}/sitting", VIEW, retain=True)
    finally:
        leave(hub)
    yield server
    server.stop()


def sitting_views(broker: EntrypointBroker, user: str) -> set[str]:
    """The desks whose sitting view ``user`` is handed when it subscribes to everything."""
    got = broker.retained(user, "sitless/#")
    return {topic.split("/")[1] for topic in got if topic.endswith("/sitting")}


def test_the_hub_reads_every_sitting_view(broker):
    """The hub seeds itself from the retained views, in either mode."""
    assert sitting_views(broker, "_hub") == {"desk-1", "desk-7"}


@pytest.mark.parametrize("user", ["_discovery", "_health", "desk-1", "facilities"])
def test_no_other_login_reads_another_desks_sitting_view(broker, user):
    """Discovery, the healthcheck, a chair and any other login (here one named "facilities")
    get no view."""
    assert sitting_views(broker, user) == set()


def test_a_persons_own_home_assistant_reads_its_desk_only(broker):
    """The ACL's example login for desk-7's own Home Assistant sees desk-7, never desk-1."""
    assert sitting_views(broker, person_login("desk-7")) == {"desk-7"}


def test_the_all_desks_home_assistant_login_exists_only_in_desk_mode(broker):
    """Under "desk" _homeassistant reads every view; under "aggregate" it cannot log in."""
    if broker.privacy == "desk":
        assert sitting_views(broker, "_homeassistant") == {"desk-1", "desk-7"}
        return
    assert broker.refuses("_homeassistant")
    assert "_homeassistant:" not in broker.passwd.read_text()
    log = broker.log()
    assert "no _homeassistant login" in log
    assert HA_PASSWORD not in log
    assert HUB_PASSWORD not in log
