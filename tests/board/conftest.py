"""Fixtures for the board tools: a pseudo-terminal standing in for the USB serial port.

The tool under test opens the pty's far end by its device path, exactly as it
opens /dev/ttyUSB0; the near end is driven by the test or by the real
MicroPython unix port running a stand-in board script.
"""

from __future__ import annotations

import os
import subprocess
import tty
from collections.abc import Iterator
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

    def write(self, data: bytes) -> None:
        os.write(self.board, data)


@pytest.fixture
def pty() -> Iterator[Pty]:
    """A raw pty pair; the far end stays open so the board side never sees a hang-up."""
    board, far = os.openpty()
    tty.setraw(far)
    pair = Pty(board, far, os.ttyname(far))
    yield pair
    os.close(board)
    os.close(far)


@pytest.fixture
def micropython_board(pty: Pty) -> Iterator[subprocess.Popen[bytes]]:
    """The real MicroPython unix port running the stand-in board on the pty's near end."""
    proc = subprocess.Popen([micropython_binary(), str(BOARDS / "sl_board.py"), "desk-7"],
                            stdin=pty.board, stdout=pty.board, stderr=subprocess.PIPE)
    yield proc
    proc.kill()
    proc.wait(10)
