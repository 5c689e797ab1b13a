"""What every benchmark shares: private servers, a hub process, a fast publisher, result files.

Servers come from the test suite's own classes (tests/support/servers.py):
mosquitto and influxd on free loopback ports in a temporary folder, never a
broker or database the machine already runs. The hub runs as a real
``sitless hub`` process so its CPU and memory are its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.servers import LOOPBACK, Influxd, Mosquitto  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


# ---- the machine and the result file ------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on, written next to every result."""
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_mb": mem_kb // 1024,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def write_result(name: str, figures: dict[str, Any], out: str | None = None) -> Path:
    """Write one benchmark's figures as JSON and print the path."""
    path = Path(out) if out else RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        **figures,
    }
    path.write_text(json.dumps(body, indent=2) + "\n")
    print(f"{name}: wrote {path}")
    return path


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll until ``check`` is truthy, bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() >= deadline:
            msg = f"gave up waiting for {what} after {timeout:.0f} s"
            raise TimeoutError(msg)
        time.sleep(every)


def rss_kb(pid: int) -> int:
    """Resident set size of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# ---- servers ----------------------------------------------------------------------------


@contextlib.contextmanager
def broker(workdir: Path) -> Iterator[Mosquitto]:
    """A private mosquitto, stopped on the way out."""
    server = Mosquitto(workdir / "mosquitto")
    server.start()
    try:
        yield server
    finally:
        server.kill()


@contextlib.contextmanager
def influx(workdir: Path, database: str = "sitless") -> Iterator[Influxd]:
    """A private influxd with one database, stopped on the way out."""
    server = Influxd(workdir / "influxd")
    server.start()
    try:
        server.create_database(database)
        yield server
    finally:
        server.kill()


def influx_count(server: Influxd, measurement: str, field: str, database: str = "sitless") -> int:
    """How many points of one measurement the server holds."""
    rows = server.rows(f'SELECT count("{field}") FROM "{measurement}"', database)  # noqa: S608 - names are the benchmark's own constants
    return int(rows[0]["count"]) if rows else 0


# ---- the hub as a process ---------------------------------------------------------------


def hub_config(  # noqa: PLR0913 - one keyword per optional section
    workdir: Path,
    broker_url: str,
    prefix: str,
    *,
    influx_url: str | None = None,
    status_port: int | None = None,
    extra: str = "",
) -> Path:
    """A TOML file for one benchmark hub, its state in its own folder."""
    state = workdir / "hub-state"
    state.mkdir(parents=True, exist_ok=True)
    history = (
        f'[history]\napi = "v1"\nurl = "{influx_url}"\ndatabase = "sitless"\n'
        if influx_url
        else '[history]\napi = "none"\n'
    )
    status = (
        f'[status]\nenabled = true\nhost = "{LOOPBACK}"\nport = {status_port}\n'
        if status_port
        else ""
    )
    text = (
        f'state_dir = "{state}"\n[mqtt]\nurl = "{broker_url}"\nprefix = "{prefix}"\n'
        f'client_id = "bench-hub-{os.getpid()}-{prefix.replace("/", "-")}"\n'
        f"{history}{status}{extra}"
    )
    path = workdir / f"hub-{prefix.replace('/', '-')}.toml"
    path.write_text(text)
    return path


class HubProcess:
    """``sitless hub`` in its own process; ``stop`` sends SIGTERM and waits."""

    def __init__(self, config: Path, log: Path, *, profile: Path | None = None) -> None:
        command = [PYTHON, "-m", "hub", "hub", "--config", str(config)]
        if profile is not None:
            spy = Path(PYTHON).parent / "py-spy"
            command = [
                str(spy),
                "record",
                "--nonblocking",
                "--format",
                "speedscope",
                "-o",
                str(profile),
                "--",
                *command,
            ]
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def hub_pid(self) -> int:
        """The Python process itself (a child of py-spy when profiling)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        with contextlib.suppress(OSError):
            kids = children.read_text().split()
            if kids:
                return int(kids[0])
        return self.proc.pid

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            os.killpg(
                self.proc.pid, signal.SIGINT if self.hub_pid() != self.proc.pid else signal.SIGTERM
            )
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(15)
        self._log.close()
        return int(self.proc.returncode)


def metrics(port: int) -> dict[str, float]:
    """The hub's /metrics page as {name: value} (label sets kept in the name)."""
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/metrics", timeout=30) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


# ---- a fast MQTT publisher: pre-encoded packets on a raw socket ------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("!H", len(raw)) + raw


def publish_packet(topic: str, payload: bytes, packet_id: int, *, retain: bool = False) -> bytes:
    """One MQTT 3.1.1 PUBLISH at QoS 1."""
    body = _string(topic) + struct.pack("!H", packet_id) + payload
    return bytes([0x32 | (1 if retain else 0)]) + _varint(len(body)) + body


class RawPublisher:
    """One MQTT 3.1.1 connection that sends QoS 1 PUBLISH packets in bulk.

    A Python MQTT client would cost more CPU per message than the hub under
    test; this one encodes the packet bytes and writes them in large chunks,
    while a reader thread counts the broker's PUBACKs. At most ``window``
    messages are unacknowledged at a time, as a device's inflight limit would do.
    """

    def __init__(self, host: str, port: int, client_id: str, window: int = 20_000) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(client_id)
        self.sock.sendall(bytes([0x10]) + _varint(len(body)) + body)
        connack = self._read_exact(4)
        if connack[0] != 0x20 or connack[3] != 0:
            msg = f"broker refused the publisher: {connack!r}"
            raise RuntimeError(msg)
        self.window = window
        self.sent = 0
        self.acked = 0
        self._cond = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read_acks, daemon=True)
        self._reader.start()
        self._next_id = 0

    def _read_exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                msg = "broker closed the connection"
                raise ConnectionError(msg)
            data += chunk
        return data

    def _read_acks(self) -> None:
        pending = b""
        while not self._closed:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            pending += chunk
            whole = len(pending) // 4  # every packet the broker sends us is a 4-byte PUBACK
            pending = pending[whole * 4 :]
            with self._cond:
                self.acked += whole
                self._cond.notify_all()

    def packet_id(self) -> int:
        self._next_id = self._next_id % 65535 + 1
        return self._next_id

    def send(self, packets: list[bytes]) -> None:
        """Send packets, waiting (bounded) while the window is full."""
        with self._cond:
            ok = self._cond.wait_for(lambda: self.sent - self.acked <= self.window, timeout=120)
        if not ok:
            msg = "the broker stopped acknowledging"
            raise TimeoutError(msg)
        self.sock.sendall(b"".join(packets))
        self.sent += len(packets)

    def wait_acked(self, timeout: float = 120.0) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.acked >= self.sent, timeout=timeout):
                msg = f"only {self.acked} of {self.sent} publishes were acknowledged"
                raise TimeoutError(msg)

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")
            self.sock.close()


DESK_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")


def desk_name(i: int) -> str:
    """The i-th benchmark desk id."""
    return f"d{i:06d}"
