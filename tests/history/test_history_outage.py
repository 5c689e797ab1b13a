"""InfluxDB down for a while and the hub SIGKILLed meanwhile: every point still arrives once.

Real: a private influxd (stopped and started again on the same data), the SQLite
spool on disk, a separate Python process running History that is killed with
SIGKILL. Stood in: the hub core (the child process records scripted facts).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.history.helpers import wait_for

REPO = Path(__file__).resolve().parents[2]
T0 = 1_770_000_000  # same as history_child.T0


class Child:
    """The History process, spoken to over stdin/stdout."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.history.history_child", str(config)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> str:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline()
        if not answer:
            pytest.fail(f"child died: {self.proc.stderr.read() if self.proc.stderr else ''}")
        return answer.strip()

    def stats(self) -> dict:
        return json.loads(self.ask("stats"))

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def quit(self) -> None:
        if self.proc.poll() is None:
            self.ask_quietly("quit")
            self.proc.wait(timeout=60)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def ask_quietly(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()


def _count(influxd) -> int:
    rows = influxd.rows('SELECT count("seq") FROM "occupancy"', "outage")
    return int(rows[0]["count"]) if rows else 0


@pytest.mark.slow
def test_outage_and_sigkill_lose_nothing_and_duplicate_nothing(private_influxd, tmp_path):
    private_influxd.create_database("outage")
    config = tmp_path / "hub.json"
    config.write_text(
        json.dumps(
            {
                "state_dir": str(tmp_path / "state"),
                "history": {
                    "api": "v1",
                    "url": private_influxd.url,
                    "database": "outage",
                    "batch_size": 250,
                },
            }
        )
    )
    child = Child(config)
    try:
        assert child.ask("record 0 500") == "ok 500"
        wait_for(lambda: _count(private_influxd) == 500, "the first 500 points")

        private_influxd.stop()
        assert child.ask("record 500 2000") == "ok 2000"
        waiting = wait_for(
            lambda: (s := child.stats())["server_reachable"] is False and s,
            "the writer to notice the outage",
        )
        assert waiting["spool_rows"] == 1500
        assert waiting["oldest_unsent_s"] is not None
        child.kill()
    finally:
        if child.proc.poll() is None:
            child.kill()

    private_influxd.start()
    child = Child(config)
    try:
        assert child.ask("record 2000 2500") == "ok 2500"
        wait_for(lambda: child.stats()["spool_rows"] == 0, "the spool to drain after restart")
        rows = private_influxd.rows('SELECT "seated", "seq", "desk" FROM "occupancy"', "outage")
        assert len(rows) == 2500
        assert sorted(row["seq"] for row in rows) == list(range(2500))
        for row in rows:
            seq = row["seq"]
            assert row["time"] == T0 + seq
            assert row["seated"] == seq % 2
            assert row["desk"] == f"desk-{seq % 3}"
        assert child.stats()["dead_letters"] == 0
    finally:
        child.quit()
