"""Two network namespaces joined by a veth pair: the chair's side and the broker's.

Each namespace has its loopback and one end of the pair, addressed on a
private /30 (CHAIR_IP and BROKER_IP); nothing else. Processes are started in
one with `wrap` (`ip netns exec NAME ...`). `cut` and `restore` take the
chair's end of the link down and up (`ip link set`); `degrade` makes the link
lossy and slow on both ends with `tc netem` (loss 30%, delay 200 ms), or,
where the kernel has no netem, with what it has: nftables dropping 30% of the
packets at random each way and a token bucket filter slowing the link (see
`degrade`'s result). `close` deletes both namespaces, which removes the pair.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from typing import Self

CHAIR_IP = "10.99.0.1"
BROKER_IP = "10.99.0.2"
LOSS = 30  # percent
DELAY_MS = 200

# Each way: drop LOSS% of the packets at random (numgen), as netem's loss would.
_NFT_LOSS = f"""
table inet sitless_degrade {{
    chain out {{
        type filter hook output priority 0; policy accept;
        numgen random mod 100 < {LOSS} counter drop;
    }}
}}
"""


def unavailable() -> str | None:
    """Why namespaces cannot be made here, or None when they can."""
    if os.geteuid() != 0:
        return f"network namespaces need root (id -u is {os.geteuid()})"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"slprobe{secrets.token_hex(3)}"
    done = subprocess.run(
        ["ip", "netns", "add", probe], capture_output=True, text=True, check=False, timeout=30
    )
    if done.returncode != 0:
        return f"ip netns is unavailable: {done.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False, timeout=30)
    return None


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, check=False, timeout=30)
    if check and done.returncode != 0:
        msg = f"ip {' '.join(args)}: {done.stderr.strip()}"
        raise RuntimeError(msg)
    return done


class NetPair:
    """The two namespaces (unique names, so parallel runs never meet); see the module."""

    def __init__(self) -> None:
        tag = f"sl{os.getpid() % 10000}{secrets.token_hex(2)}"  # interface names: <= 15
        self.chair, self.broker = f"{tag}-chair", f"{tag}-broker"
        self.chair_if, self.broker_if = f"{tag}c", f"{tag}b"
        self.made: list[str] = []

    def __enter__(self) -> Self:
        try:
            for ns in (self.chair, self.broker):
                ip("netns", "add", ns)
                self.made.append(ns)
            ip("link", "add", self.chair_if, "type", "veth", "peer", "name", self.broker_if)
            for ns, dev, addr in (
                (self.chair, self.chair_if, CHAIR_IP),
                (self.broker, self.broker_if, BROKER_IP),
            ):
                ip("link", "set", dev, "netns", ns)
                ip("-n", ns, "addr", "add", f"{addr}/30", "dev", dev)
                ip("-n", ns, "link", "set", dev, "up")
                ip("-n", ns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def wrap(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def cut(self) -> None:
        ip("-n", self.chair, "link", "set", self.chair_if, "down")

    def restore(self) -> None:
        ip("-n", self.chair, "link", "set", self.chair_if, "up")

    def _run(
        self, ns: str, *cmd: str, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.wrap(ns), *cmd],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )

    def degrade(self) -> str:
        """Make the link lossy and slow both ways; says how it was done."""
        ends = ((self.chair, self.chair_if), (self.broker, self.broker_if))
        netem = [
            self._run(
                ns,
                "tc",
                "qdisc",
                "add",
                "dev",
                dev,
                "root",
                "netem",
                "loss",
                f"{LOSS}%",
                "delay",
                f"{DELAY_MS}ms",
            )
            for ns, dev in ends
        ]
        if all(d.returncode == 0 for d in netem):
            return f"tc netem loss {LOSS}% delay {DELAY_MS}ms"
        if "unknown" not in netem[0].stderr:
            msg = f"tc netem failed: {netem[0].stderr.strip()}"
            raise RuntimeError(msg)
        for ns, dev in ends:
            done = self._run(ns, "nft", "-f", "-", stdin=_NFT_LOSS)
            if done.returncode != 0:
                msg = f"nft (the loss without netem) failed: {done.stderr.strip()}"
                raise RuntimeError(msg)
            # A link of 64 kbit/s with a 4 KB queue: a full queue waits about half a second.
            done = self._run(
                ns,
                "tc",
                "qdisc",
                "add",
                "dev",
                dev,
                "root",
                "tbf",
                "rate",
                "64kbit",
                "burst",
                "2kb",
                "latency",
                "500ms",
            )
            if done.returncode != 0:
                msg = f"tc tbf failed: {done.stderr.strip()}"
                raise RuntimeError(msg)
        return (
            f"this kernel has no netem qdisc: nftables drops {LOSS}% each way "
            "and a 64 kbit/s token bucket slows the link (no fixed delay)"
        )

    def dropped(self) -> int:
        """Packets the degraded link dropped so far, both ways (netem's or nftables' count)."""
        total = 0
        for ns, dev in ((self.chair, self.chair_if), (self.broker, self.broker_if)):
            shown = self._run(ns, "tc", "-s", "qdisc", "show", "dev", dev).stdout
            if "netem" in shown:
                total += int(shown.split("dropped ", 1)[1].split(",", 1)[0])
                continue
            listed = self._run(ns, "nft", "list", "table", "inet", "sitless_degrade").stdout
            if "packets " in listed:
                total += int(listed.split("packets ", 1)[1].split()[0])
        return total

    def clear(self) -> None:
        """Back to a clean link."""
        for ns, dev in ((self.chair, self.chair_if), (self.broker, self.broker_if)):
            self._run(ns, "tc", "qdisc", "del", "dev", dev, "root")
            self._run(ns, "nft", "delete", "table", "inet", "sitless_degrade")

    def close(self) -> None:
        for ns in self.made:
            ip("netns", "del", ns, check=False)
        self.made = []
        # Made but not yet moved into a namespace: still in this one.
        ip("link", "del", self.chair_if, check=False)
