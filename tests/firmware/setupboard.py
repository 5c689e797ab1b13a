"""A board in setup mode for the tests: the firmware's own main.py under the MicroPython unix port.

Stood in: the hardware (the button is a fake pin level, the WiFi radio and
its access point are the fake `network`, the reset ends the process as
`machine.reset` would restart the board). The setup page listens on a free
loopback port instead of port 80 on the access point; with `clocked`, setup
mode runs on the test's clock: the real one plus the milliseconds the test
writes to the file `fake/skip` (each new value read is printed as `CLOCK +ms`).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from tests.support.upython import micropython_binary, micropython_path
from tests.support.waiting import wait_until

# main.py as on the board, with the setup page's HTTP and DNS on a loopback port.
ON_LOOPBACK = (
    "import sitless.setup as s\ns.HOST = '127.0.0.1'\ns.PORT = s.DNS_PORT = {port}\nimport main"
)
# The same, with setup mode's clock ahead of the real one by what the test writes to fake/skip.
CLOCKED = """import time
import sitless.setup as s
s.HOST = '127.0.0.1'
s.PORT = s.DNS_PORT = {port}
seen = [None]
def clock():
    try:
        with open('fake/skip') as f:
            skip = int(f.read())
    except (OSError, ValueError):
        skip = 0
    if skip != seen[0]:
        seen[0] = skip
        print('CLOCK +%d' % skip)
    return time.ticks_add(time.ticks_ms(), skip)
s.ticks_ms = clock
import main
"""


class SetupBoard:
    """main.py under MicroPython in a folder playing the board's flash, its output collected."""

    def __init__(
        self,
        flash: Path,
        *,
        button_held: bool = False,
        port: int | None = None,
        clocked: bool = False,
    ) -> None:
        self.flash = flash
        fake = flash / "fake"
        fake.mkdir(exist_ok=True)
        (fake / "pin0").write_text("0" if button_held else "1")
        self.port = port
        env = dict(
            os.environ,
            MICROPYPATH=micropython_path(),
            SITLESS_FAKE_DIR=str(fake),
            SITLESS_FAKE_ECHO="1",
        )
        if port is None:  # a normal boot, exactly as on the board
            cmd = [micropython_binary(), "-X", "heapsize=512k", "-c", "import main"]
        else:  # the setup page on a loopback port instead of port 80
            cmd = [
                micropython_binary(),
                "-X",
                "heapsize=512k",
                "-c",
                (CLOCKED if clocked else ON_LOOPBACK).format(port=port),
            ]
        self.proc = subprocess.Popen(
            cmd,
            cwd=flash,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_line(self, start: str, timeout: float = 20) -> str:
        return str(
            wait_until(
                lambda: next((x for x in self.lines if x.startswith(start)), None),
                timeout,
                f"a console line starting {start!r}",
            )
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def skip(self, ms: int) -> None:
        """Put setup mode's clock `ms` ahead of the real one (with `clocked`)."""
        tmp = self.flash / "fake" / "skip.tmp"
        tmp.write_text(str(ms))
        tmp.replace(self.flash / "fake" / "skip")
        line = f"CLOCK +{ms}"
        wait_until(lambda: line in self.lines, 20, f"setup mode reading its clock at +{ms} ms")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        self._reader.join(timeout=5)
        print(f"--- console of the board in {self.flash}:\n{self.output()}")  # shown on failure
