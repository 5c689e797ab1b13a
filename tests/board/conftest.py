"""Fixtures for the board tools: a pseudo-terminal standing in for the USB serial port.

The tool under test opens the pty's far end by its device path, exactly as it
opens /dev/ttyUSB0; the near end is driven by the test or by the real
MicroPython unix port running a stand-in board script.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import threading
import time
import tty
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.upython import micropython_binary

BOARDS = Path(__file__).parent / "boards"


@dataclass
class Pty:
    """``board`` is the near end (the board's side); ``path`` is what the tool opens."""

    board: int
    held: int
    path: str
    unplugged: bool = False

    def write(self, data: bytes) -> None:
        os.write(self.board, data)

    def unplug(self) -> None:
        """Close both ends, as when the USB cable is pulled: the tool's reads fail."""
        if not self.unplugged:
            self.unplugged = True
            os.close(self.board)
            os.close(self.held)


@pytest.fixture
def pty() -> Iterator[Pty]:
    """A raw pty pair; the far end stays open so the board side never sees a hang-up."""
    board, far = os.openpty()
    tty.setraw(far)
    pair = Pty(board, far, os.ttyname(far))
    yield pair
    pair.unplug()


@pytest.fixture
def micropython_board(pty: Pty) -> Iterator[subprocess.Popen[bytes]]:
    """The real MicroPython unix port running the stand-in board on the pty's near end."""
    proc = subprocess.Popen(
        [micropython_binary(), str(BOARDS / "sl_board.py"), "desk-7"],
        stdin=pty.board,
        stdout=pty.board,
        stderr=subprocess.PIPE,
    )
    yield proc
    proc.kill()
    proc.wait(10)


class SimBoard(threading.Thread):
    """A board's side of the SL protocol driven from the test: raw readings and acks.

    ``value`` is what the seat reads now (the test changes it as a person would
    sit down); ``received`` records every line the host sent; ``refuse`` makes
    config commands fail as a board's validation would.
    """

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.value = 400.0
        self.noise = 5.0
        self.streaming = False
        self.refuse: str | None = None
        self.received: list[dict] = []
        self.done = threading.Event()
        self._tick = 0

    def say(self, text: str) -> None:
        os.write(self.fd, text.encode() + b"\r\n")

    def run(self) -> None:
        tail = b""
        while not self.done.is_set():
            ready, _, _ = select.select([self.fd], [], [], 0.02)
            if ready:
                try:
                    tail += os.read(self.fd, 4096)
                except OSError:
                    return
                while b"\n" in tail:
                    line, tail = tail.split(b"\n", 1)
                    self.handle(line.decode().strip())
            if self.streaming:
                self._tick += 1
                wobble = self.noise * (1 if self._tick % 2 else -1) / 2
                self.say(
                    f'SL {{"k":"raw","p":{{"raw":{int(self.value)},'
                    f'"value":{self.value + wobble}}}}}'
                )

    def handle(self, line: str) -> None:
        if not line.startswith("SL "):
            return
        msg = json.loads(line[3:])
        self.received.append(msg)
        if msg["k"] == "stream":
            self.streaming = bool(msg["p"])
        elif msg["k"] == "cmd":
            ok = self.refuse is None
            body = {"id": msg["p"]["id"], "ok": ok}
            if not ok:
                body["error"] = self.refuse
            self.say("some console text")
            self.say("SL " + json.dumps({"k": "ack", "p": body}))


@pytest.fixture
def sim_board(pty: Pty) -> Iterator[SimBoard]:
    """A SimBoard on the pty's near end, stopped after the test."""
    board = SimBoard(pty.board)
    board.start()
    yield board
    board.done.set()
    board.join(10)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds or the deadline passes; returns its last answer."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() >= deadline:
            return predicate()
        time.sleep(0.02)
    return True


@pytest.fixture
def micropython_repl(pty: Pty, tmp_path: Path) -> Iterator[Path]:
    """The real MicroPython unix port's REPL on the pty; its working folder plays the flash.

    mpremote talks to it through the raw REPL exactly as to a board. One thing
    differs: a soft reset (Ctrl-D in the raw REPL) ends the unix port, so tests
    keep the REPL's state instead (``--no-soft-reset``).
    """
    flash = tmp_path / "flash"
    flash.mkdir()
    proc = subprocess.Popen(
        [micropython_binary(), "-i"],
        stdin=pty.board,
        stdout=pty.board,
        stderr=subprocess.PIPE,
        cwd=flash,
    )
    yield flash
    proc.kill()
    proc.wait(10)
