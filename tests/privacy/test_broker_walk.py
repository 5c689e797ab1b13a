"""The broker's surfaces of a real hub, per login, in both privacy modes.

Real: the `sitless hub` process with Home Assistant discovery on its own login,
mosquitto started by the shipped entrypoint with the shipped ACL and login
settings (tests/privacy/broker.py), three chairs' logins publishing what a
chair publishes, paho clients for every other login. Stood in: the chairs'
hardware; an "auditor" login, added to the ACL by the test only, reads every
topic so the test can see what exists on the broker at all.

What each login is handed (retained sitting views, discovery configs):

| login | desk mode | aggregate mode |
|---|---|---|
| `_homeassistant` (all desks) | every desk | cannot log in |
| `_ha-chair-alpha` (a person's own) | alpha only | alpha only |
| a chair, or any other login ("facilities") | nothing | nothing |

and in aggregate mode the hub announces only the person's own desk at all.
"""

from __future__ import annotations

import json
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.integrations.homeassistant import node_id
from tests.privacy.broker import EntrypointBroker, leave, person_login
from tests.support.hubproc import HubProcess
from tests.support.servers import free_port, wait_for_port

pytestmark = pytest.mark.slow

CHAIRS = {"chair-alpha": "alpha-pw", "chair-bravo": "bravo-pw", "chair-charlie": "charlie-pw"}
OTHERS = {"facilities": "facilities-pw", "auditor": "auditor-pw"}
AUDITOR_ACL = "\nuser auditor\ntopic read sitless/#\ntopic read homeassistant/#\n"
PERSON = person_login("chair-alpha")


def write_config(tmp_path: Path, broker: EntrypointBroker, port: int) -> Path:
    aggregate = broker.privacy == "aggregate"
    desks = "".join(f'[desks.{d}]\nzone = "north"\n' for d in CHAIRS)
    text = textwrap.dedent(
        f"""
        state_dir = "{tmp_path / "state"}"
        [mqtt]
        url = "mqtt://127.0.0.1:{broker.port}"
        username = "_hub"
        password_file = "{broker.hub_password_file}"
        [history]
        privacy = "{broker.privacy}"
        [status]
        enabled = true
        port = {port}
        [homeassistant]
        enabled = true
        username = "_discovery"
        {'desks = ["chair-alpha"]' if aggregate else ""}
        """
    )
    path = tmp_path / "hub.toml"
    path.write_text(text + desks)
    return path


@pytest.fixture(params=["desk", "aggregate"])
def stack(request, tmp_path) -> Iterator[EntrypointBroker]:
    broker = EntrypointBroker(
        tmp_path / "broker",
        request.param,
        {**CHAIRS, **OTHERS},
        "chair-alpha",
        extra_acl=AUDITOR_ACL,
    )
    broker.start()
    port = free_port()
    hub = HubProcess(write_config(tmp_path, broker, port), tmp_path / "hub.log")
    hub.start()
    try:
        wait_for_port(port, timeout=20, proc=hub.proc)
        for desk in CHAIRS:
            chair = broker.login(desk)
            try:
                chair.publish(f"sitless/{desk}/status", "online", retain=True)
                chair.publish(f"sitless/{desk}/occupancy", sat_down())
            finally:
                leave(chair)
        wait_seated(port)
        yield broker
        assert "Traceback" not in hub.log_text()
    finally:
        hub.terminate()
        broker.stop()


def sat_down() -> dict[str, Any]:
    """A chair's occupancy event as the firmware sends it (docs/protocol.md)."""
    return {
        "seated": True,
        "seq": 1,
        "boot": "b1",
        "ts": time.time(),
        "uptime_ms": 60000,
        "value": 900000.0,
    }


def wait_seated(port: int) -> None:
    """Until the hub's own page shows every chair seated (loopback, no accounts: all desks)."""
    deadline = time.monotonic() + 20
    while True:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/desks", timeout=5) as resp:
            desks: list[dict[str, Any]] = json.loads(resp.read())["desks"]
        if sum(d.get("state") == "seated" for d in desks) == len(CHAIRS):
            return
        assert time.monotonic() < deadline, f"the chairs never sat down: {desks}"
        time.sleep(0.2)


def surfaces(broker: EntrypointBroker, user: str) -> tuple[set[str], set[str]]:
    """(desks whose sitting view, nodes whose discovery configs) ``user`` is handed."""
    views = broker.retained(user, "sitless/+/sitting")
    configs = broker.retained(user, "homeassistant/#")
    return (
        {t.split("/")[1] for t in views},
        {t.split("/")[2] for t in configs if t.endswith("/config")},
    )


def wait_surfaces(broker: EntrypointBroker, user: str, want: tuple[set[str], set[str]]) -> None:
    """Discovery announces a moment after it first hears of a desk: wait for it, bounded."""
    deadline = time.monotonic() + 15
    while (got := surfaces(broker, user)) != want:
        assert time.monotonic() < deadline, f"{user} saw {got}, wanted {want}"
        time.sleep(0.3)


def test_each_login_is_handed_only_what_the_mode_allows(stack):
    every = set(CHAIRS)
    alpha = ({"chair-alpha"}, {node_id("chair-alpha")})
    if stack.privacy == "desk":
        wait_surfaces(stack, "auditor", (every, {node_id(d) for d in CHAIRS}))
        assert surfaces(stack, "_homeassistant") == (every, {node_id(d) for d in CHAIRS})
    else:
        # The hub still keeps every desk's view (it seeds itself from them after a restart),
        # but announces only the person's own desk, and no all-desks login exists.
        wait_surfaces(stack, "auditor", (every, {node_id("chair-alpha")}))
        assert stack.refuses("_homeassistant")
    assert surfaces(stack, PERSON) == alpha
    for user in ("facilities", "chair-bravo"):
        assert surfaces(stack, user) == (set(), set()), user
