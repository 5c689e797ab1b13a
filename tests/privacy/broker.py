"""The shipped broker as the compose stack starts it, for the privacy tests.

mosquitto is started by the shipped entrypoint (deploy/mosquitto/entrypoint.sh,
which makes the password file from the secrets' files and the privacy mode),
with the shipped ACL file and the shipped login settings; the chairs' logins
are added with mosquitto_passwd, as docs/stack.md does. Only the file paths and
the listener move into the test's folder. The shipped ACL's commented example
of a person's own Home Assistant login is made live, for the desk asked for.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from hub.integrations.homeassistant import node_id
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import Mosquitto, find_binary

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
HUB_PASSWORD = "hub-secret"  # noqa: S105 - test login
HA_PASSWORD = "ha-secret"  # noqa: S105 - test login
EXAMPLE_DESK = "desk-7"


def person_login(desk: str) -> str:
    """The login of a person's own Home Assistant in the ACL's example, for ``desk``."""
    return f"_ha-{desk}"


def person_block(acl: str, desk: str) -> str:
    """The shipped ACL's commented example of a person's own Home Assistant, made live."""
    start = acl.index(f"# user {person_login(EXAMPLE_DESK)}\n")
    lines = []
    for line in acl[start:].splitlines():
        if not line.startswith("# "):
            break
        lines.append(line[2:])
    block = "\n".join(lines) + "\n"
    block = block.replace(node_id(EXAMPLE_DESK), node_id(desk))
    return block.replace(EXAMPLE_DESK, desk)


class EntrypointBroker(Mosquitto):
    """Mosquitto run by the shipped entrypoint, with the hub's secrets in files."""

    def __init__(
        self,
        workdir: Path,
        privacy: str,
        chairs: dict[str, str],
        person_desk: str,
        *,
        extra_acl: str = "",
    ) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.passwd = workdir / "passwd"
        self.privacy = privacy
        self.passwords = {
            "_hub": HUB_PASSWORD,
            "_discovery": HUB_PASSWORD,
            "_health": HUB_PASSWORD,
            "_homeassistant": HA_PASSWORD,
            person_login(person_desk): "person-ha-pass",
            **chairs,
        }
        acl = workdir / "acl"
        shipped = (DEPLOY / "acl").read_text()
        acl.write_text(shipped + "\n" + person_block(shipped, person_desk) + extra_acl)
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
        self.hub_password_file = secrets / "hub"
        self.hub_password_file.write_text(HUB_PASSWORD + "\n")
        (secrets / "ha").write_text(HA_PASSWORD + "\n")
        tool = find_binary("mosquitto_passwd")
        added = {**chairs, person_login(person_desk): "person-ha-pass"}
        for user, password in added.items():
            flags = ["-b"] if self.passwd.exists() else ["-c", "-b"]
            subprocess.run(
                [tool, *flags, str(self.passwd), user, password], check=True, capture_output=True
            )
        folders = {str(Path(find_binary(n)).parent) for n in ("mosquitto", "mosquitto_passwd")}
        self.env = {
            "PATH": os.pathsep.join([*sorted(folders), "/usr/bin", "/bin"]),
            "MOSQUITTO_PASSWORD_FILE": str(self.passwd),
            "MOSQUITTO_CONFIG_FILE": str(self.conf_path),
            "MQTT_HUB_PASSWORD_FILE": str(self.hub_password_file),
            "MQTT_HOMEASSISTANT_PASSWORD_FILE": str(secrets / "ha"),
            "SITLESS_PRIVACY": privacy,
        }

    def _command(self) -> list[str]:
        env = (f"{k}={v}" for k, v in self.env.items())
        return ["env", "-i", *env, "sh", str(DEPLOY / "entrypoint.sh")]

    def login(self, user: str) -> MqttProbe:
        """A connected client logged in as ``user``, or AssertionError."""
        probe = MqttProbe(self.host, self.port, username=user, password=self.passwords[user])
        assert not probe.connect_rc.is_failure, f"{user} could not log in: {probe.connect_rc}"
        return probe

    def refuses(self, user: str) -> bool:
        """Whether the broker turns ``user`` away at connect."""
        probe = MqttProbe(self.host, self.port, username=user, password=self.passwords[user])
        try:
            return bool(probe.connect_rc.is_failure)
        finally:
            leave(probe)

    def retained(self, user: str, topic: str) -> dict[str, bytes]:
        """What ``user`` is handed when it subscribes to ``topic``: retained, non-empty messages.

        The broker sends a subscription's retained messages right after its
        acknowledgement and handles a client's packets in order, so once a second
        subscription is acknowledged every retained message of the first has come.
        No other login is needed for that (a second "_hub" would end the hub's).
        """
        probe = self.login(user)
        try:
            probe.subscribe(topic)
            probe.subscribe("sitless/_barrier/none")
            return {m.topic: m.payload for m in probe.received() if m.retain and m.payload}
        finally:
            leave(probe)


def leave(probe: MqttProbe) -> None:
    """Disconnect before stopping the loop, which otherwise waits out its one-second poll."""
    probe.client.disconnect()
    probe.close()
