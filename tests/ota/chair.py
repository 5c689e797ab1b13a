"""A chair whose flash survives its restarts: the firmware process, started again after a reset.

The working folder stands for the board's flash (its `fw/` slots, config and
pointer files stay across restarts); the fake `machine.reset` ends the process
and `restart` starts the next boot, as the board's reset would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.support.upython import micropython_binary, micropython_path
from tests.support.waiting import wait_until

RUNNER = Path(__file__).resolve().parent / "run_ota.py"


class Chair:
    """The firmware under the unix port in `flash`, booted again on demand."""

    def __init__(self, flash: Path, cfg: dict[str, Any]) -> None:
        self.flash = flash
        (flash / "fake").mkdir(parents=True, exist_ok=True)
        (flash / "fake" / f"adc{cfg.get('sensor_pin', 34)}").write_text("100000")
        (flash / "config.json").write_text(json.dumps(cfg))
        self.boots: list[list[str]] = []
        self.proc: subprocess.Popen[str] | None = None
        self.boot()

    def boot(self) -> None:
        env = dict(os.environ)
        env.update(
            {
                "MICROPYPATH": micropython_path(),
                "SITLESS_FAKE_DIR": str(self.flash / "fake"),
                "SITLESS_FAKE_ECHO": "1",
            }
        )
        lines: list[str] = []
        self.boots.append(lines)
        self.proc = subprocess.Popen(
            [micropython_binary(), "-X", "heapsize=512k", str(RUNNER), "config.json"],
            cwd=self.flash,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        out = self.proc.stdout
        assert out is not None

        def read() -> None:
            lines.extend(line.rstrip("\n") for line in out)

        threading.Thread(target=read, daemon=True).start()

    def output(self) -> list[str]:
        return list(self.boots[-1])

    def all_output(self) -> list[str]:
        return [line for boot in self.boots for line in boot]

    def wait_exit(self, timeout: float = 60.0) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            msg = f"the chair did not restart; output tail: {self.output()[-20:]}"
            raise TimeoutError(msg) from None

    def wait_line(self, text: str, timeout: float = 30.0) -> str:
        def found() -> str | None:
            return next((line for line in self.output() if text in line), None)

        try:
            return wait_until(found, timeout, text)
        except TimeoutError:
            msg = f"no {text!r}; output tail: {self.output()[-20:]}"
            raise TimeoutError(msg) from None

    def power_cut(self) -> None:
        """Kill the process at once: no flush, no goodbye, as a pulled plug."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
