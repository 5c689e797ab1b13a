"""Private, real servers for the tests: mosquitto, influxd and victoria-metrics.

Each server gets its own temporary folder and free loopback ports, so a test
never touches a broker or database the machine already runs, and a test may
stop, kill and restart its server at will.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def find_binary(name: str, *extra: str) -> str:
    """Locate a server binary on PATH or in the usual Debian sbin folders."""
    found = shutil.which(name)
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/bin", "/sbin", *extra):
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    msg = f"{name} is not installed; run scripts/setup"
    raise RuntimeError(msg)


def wait_for_port(
    port: int, timeout: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    """Block until something accepts connections on the port, bounded by timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            msg = f"server exited with {proc.returncode} before listening on {port}"
            raise RuntimeError(msg)
        with contextlib.suppress(OSError), socket.create_connection((LOOPBACK, port), timeout=0.5):
            return
        time.sleep(0.05)
    msg = f"nothing listened on {LOOPBACK}:{port} within {timeout} s"
    raise TimeoutError(msg)


class _Process:
    """A server process that can be stopped, killed and started again on the same ports."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / "server.log"

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _ready(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self.running:
            return
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            self._command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )
        log.close()
        self._ready()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as a service manager would do it."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL): nothing is flushed."""
        self._signal(signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()

    def _signal(self, sig: int) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Mosquitto(_Process):
    """A private mosquitto broker on a free loopback port.

    Persistence is on with a short autosave, as docs/protocol.md recommends
    for production, so restart tests see the documented behaviour.
    """

    def __init__(self, workdir: Path, extra_conf: str = "", *, anonymous: bool = True) -> None:
        super().__init__(workdir)
        self.host = LOOPBACK
        self.port = free_port()
        self.binary = find_binary("mosquitto")
        self.conf_path = workdir / "mosquitto.conf"
        lines = [
            # As root, mosquitto would drop to its own user and could not write
            # its persistence file into our temporary folder.
            *([f"user {pwd.getpwuid(os.getuid()).pw_name}"] if os.getuid() == 0 else []),
            f"listener {self.port} {LOOPBACK}",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            "persistence true",
            f"persistence_location {workdir}/",
            "autosave_interval 1",
            "autosave_on_changes false",
            "max_queued_messages 0",
            "max_inflight_messages 0",
            "persistent_client_expiration 1d",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_dest stdout",
            extra_conf,
        ]
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def _command(self) -> list[str]:
        return [self.binary, "-c", str(self.conf_path)]

    def _ready(self) -> None:
        wait_for_port(self.port, proc=self.proc)


class Influxd(_Process):
    """A private InfluxDB 1.x (Debian's influxd) with its data in a temporary folder."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = find_binary("influxd")
        self.http_port = free_port()
        self.rpc_port = free_port()
        self.conf_path = workdir / "influxdb.conf"
        self.conf_path.write_text(
            f"""reporting-disabled = true
bind-address = "{LOOPBACK}:{self.rpc_port}"
[meta]
  dir = "{workdir}/meta"
  logging-enabled = false
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
  trace-logging-enabled = false
  wal-fsync-delay = "0s"
[coordinator]
  log-queries-after = "0s"
[http]
  enabled = true
  bind-address = "{LOOPBACK}:{self.http_port}"
  log-enabled = false
  auth-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
[logging]
  level = "warn"
"""
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.http_port}"

    def _command(self) -> list[str]:
        return [self.binary, "-config", str(self.conf_path)]

    def _ready(self) -> None:
        wait_for_port(self.http_port, proc=self.proc)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as resp:
                    if resp.status == 204:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.1)
        msg = "influxd did not answer /ping"
        raise TimeoutError(msg)

    def query(self, q: str, database: str | None = None, *, epoch: str = "s") -> dict[str, Any]:
        """Run InfluxQL over HTTP and return the decoded JSON body."""
        params = {"q": q, "epoch": epoch}
        if database:
            params["db"] = database
        data = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(f"{self.url}/query", data=data, method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            body: dict[str, Any] = json.loads(resp.read())
        return body

    def rows(self, q: str, database: str) -> list[dict[str, Any]]:
        """Query and flatten the first statement's series into dicts (tags merged in)."""
        body = self.query(q, database)
        result = body["results"][0]
        if "error" in result:
            raise RuntimeError(result["error"])
        out: list[dict[str, Any]] = []
        for series in result.get("series", []):
            tags = series.get("tags", {})
            for values in series["values"]:
                row = dict(zip(series["columns"], values, strict=True))
                row.update(tags)
                out.append(row)
        return out

    def create_database(self, name: str) -> None:
        self.query(f'CREATE DATABASE "{name}"')


class VictoriaMetrics(_Process):
    """Debian's victoria-metrics: accepts InfluxDB's /api/v2/write and can be read back."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.binary = find_binary("victoria-metrics")
        self.port = free_port()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _command(self) -> list[str]:
        return [
            self.binary,
            f"-httpListenAddr={LOOPBACK}:{self.port}",
            f"-storageDataPath={self.workdir}/data",
            "-loggerLevel=ERROR",
            "-search.disableCache",
        ]

    def _ready(self) -> None:
        wait_for_port(self.port, proc=self.proc)


def stop_all(*servers: _Process) -> None:
    """Stop servers, ignoring ones that are already gone."""
    for server in servers:
        with contextlib.suppress(Exception):
            server.kill() if os.environ.get("SITLESS_FAST_TEARDOWN") else server.stop()
