"""Brokers other than the suite's default mosquitto, each a real server on a free loopback port.

- ``mosquitto_variant``: mosquitto with one setting changed from the suite's
  default (a tight ``max_packet_size``, a ``message_size_limit``,
  ``max_inflight_messages 1``, ``persistence false``).
- ``Aedes``: the Node.js broker from the npm registry (``scripts/setup``
  installs it into ``~/.cache/sitless/node``, or under ``$SITLESS_CACHE``).
  It speaks MQTT 3.1.1 only and keeps sessions in memory, so a restart
  forgets them.
- ``Amqtt``: the Python broker the demo embeds, run here as its own process
  (``amqtt -c``). MQTT 3.1.1 only; it forgets a session on a clean DISCONNECT.

Every one can be stopped and started again on the same port, so a test can
restart the broker under a running hub.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import (
    LOOPBACK,
    Mosquitto,
    _Process,
    find_binary,
    free_port,
    wait_for_port,
)


def _cache() -> Path:
    """Where ``scripts/setup`` keeps what it installs outside the checkout."""
    if os.environ.get("SITLESS_CACHE"):
        return Path(os.environ["SITLESS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sitless"


NODE_MODULES = _cache() / "node" / "node_modules"
AEDES_RUNNER = Path(__file__).resolve().parent / "node" / "aedes.mjs"


class Aedes(_Process):
    """aedes under Node.js, from the copy ``scripts/setup`` installed."""

    def __init__(self, workdir: Path, deny_subscribe: str = "") -> None:
        super().__init__(workdir)
        self.host = LOOPBACK
        self.port = free_port()
        self.deny_subscribe = deny_subscribe
        if not (NODE_MODULES / "aedes" / "package.json").is_file():
            msg = f"aedes is not installed in {NODE_MODULES}; run scripts/setup"
            raise RuntimeError(msg)
        self.node = find_binary("node")

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        deny = [self.deny_subscribe] if self.deny_subscribe else []
        return [self.node, str(AEDES_RUNNER), str(NODE_MODULES), str(self.port), *deny]

    def _ready(self) -> None:
        wait_for_port(self.port, proc=self.proc)


class Amqtt(_Process):
    """amqtt as a process of its own, anonymous logins, on loopback."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.host = LOOPBACK
        self.port = free_port()
        self.conf_path = workdir / "amqtt.yaml"
        self.conf_path.write_text(
            f"""listeners:
  default:
    type: tcp
    bind: {LOOPBACK}:{self.port}
    max_connections: 1000
plugins:
  amqtt.plugins.authentication.AnonymousAuthPlugin:
    allow_anonymous: true
"""
        )
        found = shutil.which("amqtt", path=str(Path(sys.executable).parent))
        if found is None:
            msg = "amqtt is not installed in the virtual environment; run scripts/setup"
            raise RuntimeError(msg)
        self.binary = found

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.conf_path)]

    def _ready(self) -> None:
        wait_for_port(self.port, proc=self.proc)


class MosquittoVariant(Mosquitto):
    """mosquitto with the suite's settings and one or more lines changed or added.

    Mosquitto refuses some options given twice, so a changed option replaces
    the default line instead of following it.
    """

    def __init__(self, workdir: Path, settings: dict[str, str]) -> None:
        super().__init__(workdir)
        lines = self.conf_path.read_text().splitlines()
        kept = [line for line in lines if line.split(" ", 1)[0] not in settings]
        added = [f"{key} {value}" for key, value in settings.items() if value]
        if settings.get("persistence") == "false":
            kept = [line for line in kept if not line.startswith(("persistence_", "autosave_"))]
        self.conf_path.write_text("\n".join([*kept, *added]) + "\n")


@dataclass(frozen=True)
class BrokerKind:
    """One entry of the broker matrix: how to make it and what the hub should expect of it."""

    name: str
    settings: dict[str, str]
    kept_over_restart: bool  # a broker restart keeps the hub's session
    kept_over_disconnect: bool = True  # a clean DISCONNECT of the hub keeps its session
    refuses_alerts: bool = False  # the alert command is over the broker's size limit
    extra_connects: int = 0  # connections the broker ends on its own (after a refusal)
    # How the refusal is counted: the broker's reason, or the hub's own conclusion when the
    # broker cut the link before its refusal could be read.
    refusal_reasons: tuple[str, ...] = ("packet_too_large",)

    @property
    def protocol(self) -> str:
        return "3.1.1" if self.name in {"aedes", "amqtt"} else "5"

    def make(self, workdir: Path) -> Aedes | Amqtt | MosquittoVariant:
        if self.name == "aedes":
            return Aedes(workdir)
        if self.name == "amqtt":
            return Amqtt(workdir)
        return MosquittoVariant(workdir, self.settings)


# The matrix every broker runs. max_packet_size and message_size_limit are
# tight enough to refuse the hub's alert command (about 150 bytes as a packet)
# yet let the chairs' events and the hub's views through, under a short prefix.
MATRIX = (
    BrokerKind("mosquitto", {}, kept_over_restart=True),
    BrokerKind(
        "mosquitto-max-packet-size",
        {"max_packet_size": "128"},
        kept_over_restart=True,
        refuses_alerts=True,
    ),
    BrokerKind(
        "mosquitto-message-size-limit",
        {"message_size_limit": "120"},
        kept_over_restart=True,
        refuses_alerts=True,
        # mosquitto 2.0.11 closes the connection after refusing a publish with 0x95, and the
        # close may discard the refusal: then the hub sends it once more before it drops it.
        # At most two cuts per run of the hub, and the scenario runs it twice.
        extra_connects=4,
        refusal_reasons=("packet_too_large", "closed_by_broker"),
    ),
    BrokerKind("mosquitto-inflight-1", {"max_inflight_messages": "1"}, kept_over_restart=True),
    BrokerKind("mosquitto-no-persistence", {"persistence": "false"}, kept_over_restart=False),
    # amqtt forgets a session on a clean DISCONNECT, aedes keeps sessions in memory only
    BrokerKind("amqtt", {}, kept_over_restart=False, kept_over_disconnect=False),
    BrokerKind("aedes", {}, kept_over_restart=False),
)
