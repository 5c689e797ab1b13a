"""Finding 2: the disk under ``state_dir`` fills up.

Real: a small tmpfs that the test mounts (so the disk really is full: SQLite
gets ENOSPC from the kernel, not a size cap), the ``sitless hub`` process with
its checkpoint and history spool on it, the session mosquitto, a paho client
publishing what chairs would, and for the drain test a private influxd that
is stopped and started again. Nothing stood in. Mounting needs root; without
it the tests are skipped with that reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.rig import PagedHub
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DISK_MB = 16


class SmallDisk:
    """A tmpfs of a few megabytes, and a filler file that takes what is left of it."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler"

    def fill(self) -> None:
        """Write until the kernel says ENOSPC, to the last byte (the disk is then truly full)."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for size in (1 << 16, 4096, 512, 1):
                block = b"\0" * size
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, block)
        finally:
            os.close(fd)
        assert self.avail() == 0

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def avail(self) -> int:
        st = os.statvfs(self.mount)
        return st.f_bavail * st.f_frsize


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    if os.geteuid() != 0:
        reason = "needs root to mount a small tmpfs for the full-disk tests"
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_MB}m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs: {done.stderr.strip()}"
        print(f"SKIPPED: {reason}")
        pytest.skip(reason)
    try:
        yield SmallDisk(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def seated(seq: int, ts: float | None = None) -> str:
    body = {"seated": True, "seq": seq, "boot": "b1", "ts": ts, "uptime_ms": seq, "value": 9.0}
    return json.dumps(body)


def states(hub: PagedHub) -> dict[str, str]:
    return {d["desk"]: d["state"] for d in hub.desks()["desks"]}


def spooled_desks(state: Path, measurement: str = "occupancy") -> set[str]:
    with contextlib.closing(sqlite3.connect(state / "sitless-spool.sqlite3")) as db:
        rows = db.execute("SELECT desk FROM points WHERE measurement = ?", (measurement,))
        return {desk for (desk,) in rows}


def test_a_full_disk_is_logged_once_and_messages_wait_for_their_commit(
    small_disk, mosquitto, prefix, tmp_path
):
    """While the disk is full the hub keeps applying messages but logs the failed
    checkpoint once, not per batch, and does not acknowledge what it could not
    commit: a hub SIGKILLed meanwhile gets those messages again from the broker
    once it restarts on a disk with room, and their history is then kept."""
    chair = MqttProbe(mosquitto.host, mosquitto.port)
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix)
    hub.config.write_text(hub.config.read_text().replace(str(hub.state), str(small_disk.mount)))
    hub.state = small_disk.mount
    try:
        hub.start()
        chair.publish(f"{prefix}/first/occupancy", seated(1))
        wait_until(lambda: states(hub).get("first") == "seated", timeout=10, what="first in")
        time.sleep(1)
        small_disk.fill()
        for n in range(10):
            chair.publish(f"{prefix}/late-{n}/occupancy", seated(1))
            time.sleep(0.3)  # separate batches
        wait_until(
            lambda: all(states(hub).get(f"late-{n}") == "seated" for n in range(10)),
            timeout=10,
            what="applied in memory while the disk is full",
        )
        time.sleep(1)
        log = hub.proc.log_text()
        failures = log.count("could not save the checkpoint")
        assert 1 <= failures <= 2, log[-3000:]
        assert "Traceback" not in log
        hub.proc.kill()
        small_disk.free()
        hub.start()
        wait_until(
            lambda: all(states(hub).get(f"late-{n}") == "seated" for n in range(10)),
            timeout=15,
            what="the unacknowledged messages delivered again",
        )
        assert hub.proc.terminate() == 0
        assert {f"late-{n}" for n in range(10)} <= spooled_desks(small_disk.mount)
    finally:
        hub.proc.terminate()
        chair.close()


def test_a_restart_on_a_full_disk_runs_and_says_why_it_cannot_save(
    small_disk, mosquitto, prefix, tmp_path
):
    """The hub killed, the disk full, the hub started again: it restores and runs
    (it crashed in the restore with "database or disk is full"), keeps applying
    messages, says why it cannot save, and saves again once there is room."""
    chair = MqttProbe(mosquitto.host, mosquitto.port)
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix)
    hub.config.write_text(hub.config.read_text().replace(str(hub.state), str(small_disk.mount)))
    hub.state = small_disk.mount
    try:
        hub.start()
        for n in range(5):
            chair.publish(f"{prefix}/d{n}/occupancy", seated(1))
        wait_until(lambda: len(states(hub)) >= 5, timeout=10, what="desks in")
        time.sleep(1.5)
        hub.proc.kill()
        small_disk.fill()
        hub.start()
        time.sleep(3)
        assert hub.running(), hub.proc.log_text()[-3000:]
        assert {f"d{n}" for n in range(5)} <= set(states(hub))
        chair.publish(f"{prefix}/d9/occupancy", seated(1))
        wait_until(lambda: states(hub).get("d9") == "seated", timeout=10, what="still working")
        log = hub.proc.log_text()
        assert "Traceback" not in log, log[-3000:]
        assert "full" in log
        small_disk.free()
        chair.publish(
            f"{prefix}/d9/occupancy", json.dumps({**json.loads(seated(2)), "seated": False})
        )
        wait_until(lambda: states(hub).get("d9") == "vacant", timeout=10, what="d9 stood up")
        assert hub.proc.terminate() == 0
        assert "d9" in spooled_desks(small_disk.mount)
    finally:
        hub.proc.terminate()
        chair.close()


def queued(state: Path) -> int:
    uri = f"file:{state / 'sitless-spool.sqlite3'}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'queue_%'"
            )
        ]
        return sum(int(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables)  # noqa: S608


def test_the_spool_drains_when_influxdb_returns_to_a_full_disk(
    small_disk, private_influxd, mosquitto, prefix, tmp_path
):
    """Points spooled while InfluxDB was down, then the disk filled: when the server
    returns, the spool drains (the writer's delete used to fail to commit, so
    the same batch went again every 10 s forever) and new points get through."""
    private_influxd.create_database("hist")
    private_influxd.stop()
    chair = MqttProbe(mosquitto.host, mosquitto.port)
    history = (
        f'[history]\napi = "v1"\nurl = "{private_influxd.url}"\ndatabase = "hist"\n'
        'sample_period = "1h"\n'
    )
    hub = PagedHub(tmp_path / "hub", mosquitto.url, prefix, history)
    hub.config.write_text(hub.config.read_text().replace(str(hub.state), str(small_disk.mount)))
    hub.state = small_disk.mount

    def in_influx() -> set[str]:
        rows = private_influxd.rows("SELECT * FROM occupancy", "hist")
        return {str(r["desk"]) for r in rows}

    try:
        hub.start()
        for n in range(10):
            chair.publish(f"{prefix}/d{n}/occupancy", seated(1))
        wait_until(lambda: queued(small_disk.mount) >= 10, timeout=10, what="points spooled")
        time.sleep(1)
        small_disk.fill()
        private_influxd.start()
        wait_until(lambda: in_influx() >= {f"d{n}" for n in range(10)}, timeout=30, what="sent")
        wait_until(lambda: queued(small_disk.mount) == 0, timeout=30, what="the spool drained")
        chair.publish(f"{prefix}/after/occupancy", seated(1))
        wait_until(lambda: "after" in in_influx(), timeout=30, what="a new point through")
        assert "Traceback" not in hub.proc.log_text()
    finally:
        hub.proc.terminate()
        chair.close()
