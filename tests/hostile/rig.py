"""Shared pieces for the hostile-world tests: the hub as a process, its page, a config file.

Everything here drives the real ``sitless hub`` process, the real status page
and a real broker; nothing is stood in.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from tests.support.hubproc import ROOT, HubProcess
from tests.support.servers import free_port
from tests.support.waiting import wait_until

ALL_DAYS = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'


def _refuse_constant(name: str) -> float:
    msg = f"not JSON: {name}"
    raise ValueError(msg)


def strict_json(text: str) -> Any:
    """Parse JSON as a browser would: NaN and Infinity are errors."""
    return json.loads(text, parse_constant=_refuse_constant)


class PagedHub:
    """``sitless hub`` with its status page on a port of its own."""

    def __init__(self, folder: Path, url: str, prefix: str, extra: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.state = folder / "state"
        self.port = free_port()
        self.config = folder / "sitless.toml"
        self.config.write_text(f"""state_dir = "{self.state}"

[mqtt]
url = "{url}"
prefix = "{prefix}"
client_id = "hub-{uuid.uuid4().hex[:10]}"
keepalive = "5s"

[schedule]
days = {ALL_DAYS}

[status]
enabled = true
port = {self.port}

{extra}
""")
        self.proc = HubProcess(self.config, folder / "hub.log")

    def start(self) -> None:
        self.proc.start()
        wait_until(self.answers, timeout=20, what="the hub's status page answers")

    def answers(self) -> bool:
        if self.proc.proc is not None and self.proc.proc.poll() is not None:
            msg = (
                f"the hub exited with {self.proc.proc.returncode}:\n{self.proc.log_text()[-3000:]}"
            )
            raise AssertionError(msg)
        try:
            self.get("/healthz")
        except OSError:
            return False
        return True

    def get(self, path: str) -> str:
        url = f"http://127.0.0.1:{self.port}{path}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return str(reply.read().decode())

    def desks(self) -> dict[str, Any]:
        """``/api/desks`` parsed strictly (a browser drops the page on NaN or Infinity)."""
        return dict(strict_json(self.get("/api/desks")))

    def counters(self) -> dict[str, float]:
        return dict(self.desks()["counters"])

    def running(self) -> bool:
        return self.proc.proc is not None and self.proc.proc.poll() is None


def sitless(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``sitless`` command line once and capture what it says."""
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd or ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        check=False,
    )
