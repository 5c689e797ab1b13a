"""``sitless hub`` as a real process whose clock the test sets: a working day in seconds.

Everything is the hub as shipped (``hub.cli.main(["hub", ...])``: broker
link, rules, timers, history, status page) except the time its service reads:
that comes from a file the test writes, so a day at the real defaults (30 min
limit, 5 min escalation) plays in seconds. The broker, the history writer and
the page keep real time. Run as ``python -m tests.support.clockedhub CLOCK
CONFIG``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from pathlib import Path

from tests.support.hubproc import ROOT, HubProcess


class FileClock:
    """The time in a file (unix seconds, as text); the last good value if it cannot be read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last = float(path.read_text())

    def __call__(self) -> float:
        with contextlib.suppress(OSError, ValueError):  # a write in progress: keep the last
            self.last = float(self.path.read_text())
        return self.last


def set_clock(path: Path, ts: float) -> None:
    """Move the hub's clock to ``ts``, atomically."""
    part = path.with_suffix(".part")
    part.write_text(repr(ts))
    part.replace(path)


class ClockedHub(HubProcess):
    """A ``HubProcess`` started through this module, with its clock in ``clock``."""

    def __init__(self, config: Path, log: Path, clock: Path) -> None:
        super().__init__(config, log)
        self.clock = clock

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "tests.support.clockedhub", str(self.clock)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*command, str(self.config)], stdout=out, stderr=out, env=env, cwd=ROOT
            )
        self.starts += 1


def main(argv: list[str]) -> int:
    from hub import cli  # noqa: PLC0415 - imported once the clock is in place
    from hub.commands import hub as hub_command  # noqa: PLC0415
    from hub.core.service import HubService  # noqa: PLC0415

    clock_path, config = Path(argv[0]), argv[1]
    hub_command.HubService = functools.partial(  # type: ignore[misc]
        HubService, clock=FileClock(clock_path)
    )
    return cli.main(["-v", "hub", "--config", config])


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
