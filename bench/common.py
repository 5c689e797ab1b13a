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
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.servers import LOOPBACK, Influxd, Mosquitto  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable


# ---- instruction counts ---------------------------------------------------------------------


def callgrind_parts(script: Path, args: Sequence[str], mark: str) -> dict[int, int]:
    """Run ``script`` with ``args`` under callgrind: the main thread's instructions by part.

    The run is cut into numbered parts (1, 2, ...) at each call of the
    function ``mark``, which the script calls around what it measures. The
    script must take ``--out FILE`` for its own result, which is dropped.
    """
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        msg = "--callgrind needs valgrind (apt-get install valgrind)"
        raise SystemExit(msg)
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-callgrind-"))
    try:
        command = [
            valgrind,
            "--tool=callgrind",
            "--separate-threads=yes",
            f"--dump-before={mark}",
            f"--callgrind-out-file={work}/cg.%p",
            sys.executable,
            str(script),
            *args,
            "--out",
            str(work / "child.json"),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=3600)
        if done.returncode != 0:
            msg = f"the run under callgrind failed: {done.stderr[-2000:]}"
            raise RuntimeError(msg)
        # One file per part and thread: cg.PID.PART-THREAD; the main thread is 01.
        return {
            int(path.name.rsplit(".", 1)[1].split("-")[0]): _callgrind_total(path)
            for path in work.glob("cg.*.*-01")
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _callgrind_total(path: Path) -> int:
    for line in path.read_text().splitlines():
        if line.startswith("totals:"):
            return int(line.split()[1])
    msg = f"no totals in {path.name}"
    raise RuntimeError(msg)


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
        "reference_us": reference_us(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def reference_us() -> float:
    """CPU microseconds of one fixed piece of interpreter work, best of five: the machine's speed.

    The work is what the hub does most (decode a small JSON message, pick
    fields, build a text line), with no I/O. A figure in CPU time divided by
    this one moves far less from machine to machine than the figure itself.
    """
    payload = b'{"seated":true,"seq":17,"boot":"b1","ts":1767000000.125,"uptime_ms":1000}'
    best = float("inf")
    for _ in range(5):
        start = time.thread_time()
        for i in range(2000):
            body = json.loads(payload)
            line = f"occupancy,desk=d{i:06d} seated={int(body['seated'])}i {int(body['ts'] * 1e9)}"
            body[line[:8]] = len(line)
        best = min(best, time.thread_time() - start)
    return round(best * 1e6 / 2000, 3)


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


# ---- a fast MQTT subscriber: one socket, arrival times per received chunk ------------------


class RawSubscriber:
    """One MQTT 3.1.1 connection that subscribes at QoS 1 and timestamps every PUBLISH.

    A Python MQTT client's callbacks would add their own queueing to the
    arrival times being measured (several milliseconds per thousand
    messages); this one reads the socket in large chunks, stamps each chunk
    with ``time.time()`` as it returns from ``recv``, parses the packets in
    it, and answers a chunk's QoS 1 messages with one write of PUBACKs.
    ``messages`` holds (arrival, topic, payload) in arrival order.
    """

    def __init__(self, host: str, port: int, client_id: str, topics: list[str]) -> None:
        self.sock = socket.create_connection((host, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = _string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(client_id)
        self.sock.sendall(bytes([0x10]) + _varint(len(body)) + body)
        self.messages: list[tuple[float, str, bytes]] = []
        self._lock = threading.Lock()
        self._subacked = threading.Event()
        self._closed = False
        self._buffer = b""
        connack = self._read_some()
        if len(connack) < 4 or connack[0] != 0x20 or connack[3] != 0:
            msg = f"broker refused the subscriber: {connack!r}"
            raise RuntimeError(msg)
        self._buffer = connack[4:]
        filters = b"".join(_string(t) + b"\x01" for t in topics)
        sub = struct.pack("!H", 1) + filters
        self.sock.sendall(bytes([0x82]) + _varint(len(sub)) + sub)
        self._reader = threading.Thread(target=self._read, daemon=True, name="bench-subscriber")
        self._reader.start()
        if not self._subacked.wait(30):
            msg = "the broker did not acknowledge the subscription"
            raise TimeoutError(msg)

    def _read_some(self) -> bytes:
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            msg = "broker closed the connection"
            raise ConnectionError(msg)
        return chunk

    def _read(self) -> None:
        pending = self._buffer
        self.sock.settimeout(None)
        while not self._closed:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                return
            now = time.time()
            if not chunk:
                return
            pending += chunk
            got, acks, pending = self._parse(pending, now)
            if acks:
                with contextlib.suppress(OSError):
                    self.sock.sendall(b"".join(acks))
            if got:
                with self._lock:
                    self.messages.extend(got)

    def _parse(
        self, data: bytes, now: float
    ) -> tuple[list[tuple[float, str, bytes]], list[bytes], bytes]:
        got: list[tuple[float, str, bytes]] = []
        acks: list[bytes] = []
        pos, end = 0, len(data)
        while pos + 2 <= end:
            first = data[pos]
            length, shift, i = 0, 0, pos + 1
            while i < end:
                byte = data[i]
                length |= (byte & 0x7F) << shift
                shift += 7
                i += 1
                if not byte & 0x80:
                    break
            else:
                break
            if i + length > end:
                break
            body = data[i : i + length]
            kind = first >> 4
            if kind == 3:
                tlen = struct.unpack_from("!H", body)[0]
                topic = body[2 : 2 + tlen].decode()
                qos = (first >> 1) & 3
                start = 2 + tlen
                if qos:
                    acks.append(b"\x40\x02" + body[start : start + 2])
                    start += 2
                got.append((now, topic, bytes(body[start:])))
            elif kind == 9:
                self._subacked.set()
            pos = i + length
        return got, acks, data[pos:]

    def count(self, topic_suffix: str = "") -> int:
        """How many messages arrived (whose topic ends with ``topic_suffix``)."""
        with self._lock:
            if not topic_suffix:
                return len(self.messages)
            return sum(1 for _, t, _ in self.messages if t.endswith(topic_suffix))

    def received(self) -> list[tuple[float, str, bytes]]:
        """A copy of everything so far."""
        with self._lock:
            return list(self.messages)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        """Disconnect."""
        self._closed = True
        with contextlib.suppress(OSError):
            self.sock.sendall(b"\xe0\x00")
            self.sock.close()


def broker_floor(
    host: str, port: int, sizes: list[tuple[str, int, bool]], count: int
) -> dict[str, Any]:
    """How long the broker takes to deliver ``count`` rounds of messages to one subscriber.

    Each round is one QoS 1 message per entry of ``sizes`` (a topic pattern
    with ``{i}`` for the desk, a payload size and whether it is retained),
    all sent from one publisher in one burst, as fast as the socket takes
    them. Returned: the time from the first byte sent to the last message
    received, and the per-message delivery times (arrival minus burst start).
    """
    tag = f"floor{os.getpid()}"
    sub = RawSubscriber(host, port, f"bench-floor-sub-{os.getpid()}", [f"{tag}/#"])
    pub = RawPublisher(host, port, f"bench-floor-pub-{os.getpid()}", window=10 * count * len(sizes))
    try:
        packets = [
            publish_packet(
                f"{tag}/" + pattern.format(i=desk_name(i)),
                b"x" * size,
                pub.packet_id(),
                retain=retain,
            )
            for i in range(count)
            for pattern, size, retain in sizes
        ]
        total = len(packets)
        start = time.time()
        for first in range(0, total, 2000):
            pub.send(packets[first : first + 2000])
        wait_for(lambda: sub.count() >= total, 120, "the floor's messages", every=0.005)
        got = sub.received()
    finally:
        pub.close()
        sub.close()
    delivery = sorted(at - start for at, _, _ in got)
    return {"messages": total, "total_s": round(delivery[-1], 4), "delivery": delivery}
