"""Who can read a desk's retained sitting view on the shipped broker, in both privacy modes.

Real: mosquitto started by the shipped entrypoint (deploy/mosquitto/entrypoint.sh,
which makes the password file from the secrets' files and the privacy mode),
the shipped ACL file and the shipped login settings, mosquitto_passwd for the
chairs' logins as docs/stack.md adds them, paho clients. Stood in: nothing; only
the file paths and the listener are moved into the test's folder. The person's
own Home Assistant login is the example block of the shipped ACL, uncommented.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Mosquitto, find_binary, stop_all

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
HUB_PASSWORD = "hub-secret"  # noqa: S105 - test login
HA_PASSWORD = "ha-secret"  # noqa: S105 - test login
CHAIRS = {"desk-1": "one-pass", "desk-7": "seven-pass", "facilities": "fac-pass"}
PERSON_HA = "_ha-desk-7"
PASSWORDS = {
    "_hub": HUB_PASSWORD,
    "_discovery": HUB_PASSWORD,
    "_health": HUB_PASSWORD,
    "_homeassistant": HA_PASSWORD,
    PERSON_HA: "person-ha-pass",
    **CHAIRS,
}
VIEW = {"state": "seated", "seated_s": 60, "level": 0, "since": 1.0, "ts": 2.0}


def person_block(acl: str) -> str:
    """The shipped ACL's commented example of a person's own Home Assistant, made live."""
    start = acl.index(f"# user {PERSON_HA}\n")
    lines = []
    for line in acl[start:].splitlines():
        if not line.startswith("# "):
            break
        lines.append(line[2:])
    return "\n".join(lines) + "\n"


class EntrypointBroker(Mosquitto):
    """Mosquitto run by the shipped entrypoint, with the hub's secrets in files."""

    def __init__(self, workdir: Path, privacy: str) -> None:
        self.passwd = workdir / "passwd"
        acl = workdir / "acl"
        shipped = (DEPLOY / "acl").read_text()
        acl.write_text(shipped + "\n" + person_block(shipped))
        conf = (DEPLOY / "mosquitto.conf").read_text()
        keep = [
            line
            for line in conf.splitlines()
            if re.match(r"(use_username_as_clientid|message_size_limit) ", line)
        ]
        assert keep, "the shipped login settings moved"
        super().__init__(
            workdir,
            extra_conf="\n".join([f"password_file {self.passwd}", f"acl_file {acl}", *keep]),
            anonymous=False,
        )
        secrets = workdir / "secrets"
        secrets.mkdir()
        (secrets / "hub").write_text(HUB_PASSWORD + "\n")
        (secrets / "ha").write_text(HA_PASSWORD + "\n")
        tool = find_binary("mosquitto_passwd")
        for user, password in {**CHAIRS, PERSON_HA: PASSWORDS[PERSON_HA]}.items():
            flags = ["-b"] if self.passwd.exists() else ["-c", "-b"]
            subprocess.run(
                [tool, *flags, str(self.passwd), user, password], check=True, capture_output=True
            )
        folders = {str(Path(find_binary(n)).parent) for n in ("mosquitto", "mosquitto_passwd")}
        self.env = {
            "PATH": os.pathsep.join([*sorted(folders), "/usr/bin", "/bin"]),
            "MOSQUITTO_PASSWORD_FILE": str(self.passwd),
            "MOSQUITTO_CONFIG_FILE": str(self.conf_path),
            "MQTT_HUB_PASSWORD_FILE": str(secrets / "hub"),
            "MQTT_HOMEASSISTANT_PASSWORD_FILE": str(secrets / "ha"),
            "SITLESS_PRIVACY": privacy,
        }

    def _command(self) -> list[str]:
        return [
            "env",
            "-i",
            *(f"{k}={v}" for k, v in self.env.items()),
            "sh",
            str(DEPLOY / "entrypoint.sh"),
        ]


@pytest.fixture(scope="module", params=["desk", "aggregate"])
def broker(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EntrypointBroker]:
    server = EntrypointBroker(tmp_path_factory.mktemp(f"broker-{request.param}"), request.param)
    server.start()
    hub = login(server, "_hub")
    try:
        for desk in ("desk-1", "desk-7"):
            hub.publish(f"sitless/{desk}/sitting", VIEW, retain=True)
    finally:
        leave(hub)
    yield server
    stop_all(server)


def login(broker: Mosquitto, user: str) -> MqttProbe:
    probe = MqttProbe(broker.host, broker.port, username=user, password=PASSWORDS[user])
    assert not probe.connect_rc.is_failure, f"{user} could not log in: {probe.connect_rc}"
    return probe


def leave(probe: MqttProbe) -> None:
    probe.client.disconnect()
    probe.close()


def sitting_views(broker: Mosquitto, user: str) -> set[str]:
    """The desks whose sitting view ``user`` receives when it subscribes to everything.

    A marker the login may read is sent after the subscription, so once it
    arrives every retained view the broker was going to hand over has come.
    """
    probe = login(broker, user)
    try:
        probe.subscribe("sitless/#")
        # Logins are client ids: a second "_hub" connection would end the probe's.
        hub = probe if user == "_hub" else login(broker, "_hub")
        try:
            hub.publish("sitless/_hub/status", "online", retain=True)
        finally:
            if hub is not probe:
                leave(hub)
        probe.wait_topic("sitless/_hub/status", timeout=15)
        return {m.topic.split("/")[1] for m in probe.received() if m.topic.endswith("/sitting")}
    finally:
        leave(probe)


def test_the_hub_reads_every_sitting_view(broker):
    """The hub seeds itself from the retained views, in either mode."""
    assert sitting_views(broker, "_hub") == {"desk-1", "desk-7"}


@pytest.mark.parametrize("user", ["_discovery", "desk-1", "facilities"])
def test_no_other_login_reads_another_desks_sitting_view(broker, user):
    """Discovery, a chair and any other login (here one named "facilities") get no view."""
    assert sitting_views(broker, user) == set()


def test_a_persons_own_home_assistant_reads_its_desk_only(broker):
    """The ACL's example login for desk-7's own Home Assistant sees desk-7, never desk-1."""
    assert sitting_views(broker, PERSON_HA) == {"desk-7"}


def test_the_all_desks_home_assistant_login_exists_only_in_desk_mode(broker):
    """Under "desk" _homeassistant reads every view; under "aggregate" it cannot log in."""
    privacy = broker.env["SITLESS_PRIVACY"]
    if privacy == "desk":
        assert sitting_views(broker, "_homeassistant") == {"desk-1", "desk-7"}
        return
    probe = MqttProbe(broker.host, broker.port, username="_homeassistant", password=HA_PASSWORD)
    try:
        assert probe.connect_rc.is_failure
    finally:
        leave(probe)
    assert "_homeassistant:" not in broker.passwd.read_text()
    assert "no _homeassistant login" in broker.log()
    assert HA_PASSWORD not in broker.log()
    assert HUB_PASSWORD not in broker.log()
