"""Issue 16, finding 7: idle connections must not exhaust the status page or the hub.

Real: the `sitless hub` process started under `prlimit --nofile 128`, a private
mosquitto, the status page's HTTP listener, and a separate process holding 300
idle TCP connections (more than the hub's file limit) to the page.
Stood in: nothing.
Before the fix every idle connection kept a descriptor for ever: the page
stopped answering, its thread spun on accept(), and the hub could not
reconnect after a broker restart ("Too many open files").
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from tests.support.hubproc import ROOT, sitless_hub
from tests.support.servers import LOOPBACK, free_port, wait_for_port

pytestmark = pytest.mark.slow

FILE_LIMIT = 128
IDLE = 300
IDLE_TIMEOUT_S = 8.0  # long enough that the first held connections are still open when the 300th is

HOLDER = textwrap.dedent(
    """
    import socket, sys
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    held = []
    for _ in range(count):
        s = socket.socket()
        s.settimeout(10)
        s.connect((host, port))
        held.append(s)
    print("held", len(held), flush=True)
    sys.stdin.read()
    """
)


def raw_get(port: int, path: str, host: str | None = None, timeout: float = 5.0) -> tuple[int, str]:
    """One HTTP/1.1 request over a fresh socket; (status, body)."""
    host = host or f"{LOOPBACK}:{port}"
    with socket.create_connection((LOOPBACK, port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body.decode(errors="replace")


def config(tmp_path: Path, broker_url: str, port: int) -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [mqtt]
            url = "{broker_url}"
            prefix = "exhaust"
            [status]
            enabled = true
            port = {port}
            idle_timeout = "{IDLE_TIMEOUT_S}s"
            [log]
            level = "info"
            """
        )
    )
    return path


def cpu_seconds(proc: psutil.Process, over_s: float) -> float:
    before = proc.cpu_times()
    time.sleep(over_s)
    after = proc.cpu_times()
    return (after.user + after.system) - (before.user + before.system)


def answers_again(port: int, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while True:
        status, _ = raw_get(port, "/healthz")
        if status == 200 or time.monotonic() > deadline:
            return status
        time.sleep(0.2)


def wait_hub_reconnect(broker, log: Path) -> None:
    def connects() -> int:
        return log.read_text(errors="replace").count("connected to the broker")

    before = connects()
    assert before >= 1
    broker.restart()
    deadline = time.monotonic() + 30
    while connects() <= before:
        assert time.monotonic() < deadline, "the hub did not reconnect after the restart"
        time.sleep(0.2)


def hold_idle(port: int) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, LOOPBACK, str(port), str(IDLE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().split() == ["held", str(IDLE)]
    return holder


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="prlimit (util-linux) is missing")
def test_idle_connections_beyond_the_file_limit_do_not_exhaust_the_hub(tmp_path, private_mosquitto):
    port = free_port()
    log = tmp_path / "hub.log"
    limit = ["prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", "--"]
    with log.open("ab") as out:
        hub = subprocess.Popen(
            [*limit, *sitless_hub(config(tmp_path, private_mosquitto.url, port))],
            stdout=out,
            stderr=out,
            cwd=ROOT,
        )
    holder = None
    try:
        wait_for_port(port, timeout=20, proc=hub)
        # /healthz is 200 once the hub has reached the broker, a moment after the port opens.
        assert answers_again(port, within_s=20) == 200
        # The Host header must name this page: a foreign one is refused.
        status, body = raw_get(port, "/api/desks", host="evil.example")
        assert status == 400, body
        assert "Host" in body

        holder = hold_idle(port)
        # Over the cap, a new request is refused at once rather than left hanging.
        assert raw_get(port, "/healthz")[0] == 503
        # While all 300 stay open on the far side, the hub does not spin.
        used = cpu_seconds(psutil.Process(hub.pid), 3.0)
        assert used < 1.0, f"the hub used {used:.2f} s of CPU in 3 s while connections idled"
        # The idle ones are timed out, so the page answers again with the holder still there.
        assert answers_again(port, 4 * IDLE_TIMEOUT_S + 5) == 200
        assert holder.poll() is None
        fds = psutil.Process(hub.pid).num_fds()
        assert fds < FILE_LIMIT // 2, f"{fds} descriptors still open"
        # And the hub still has descriptors to reconnect after a broker restart.
        wait_hub_reconnect(private_mosquitto, log)
    finally:
        if holder is not None:
            holder.kill()
            holder.wait(10)
        stop(hub)
    text = log.read_text(errors="replace")
    assert "Too many open files" not in text
    assert "Traceback" not in text
    refusals = text.count("status page refused a connection")
    assert 1 <= refusals <= 2, f"{refusals} refusal lines: the warning must be rate-limited"
