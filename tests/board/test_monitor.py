"""The monitor: console text as is, SL events decoded, broken lines flagged.

Real: pyserial on a pseudo-terminal and the monitor command. Stood in: the board
(the test writes its console lines, or a thread streams raw readings).
"""

from __future__ import annotations

import threading

from hub import cli
from hub.board.console import describe
from tests.board.conftest import wait_until


def test_lines_are_described_for_a_person():
    """Pure formatting; nothing stood in."""
    assert describe("I (321) boot: ESP-IDF v5.2") == "I (321) boot: ESP-IDF v5.2"
    assert describe("[x] not markup") == "\\[x] not markup"
    event = describe('SL {"k":"occupancy","p":{"seated":true,"seq":3}}')
    assert "occupancy" in event
    assert '"seq": 3' in event
    assert "broken SL line" in describe("SL {oops")
    assert "offline" in describe('SL {"k":"status","p":"offline"}')


def test_the_command_shows_text_and_events(pty, capsys):
    """Three lines the stand-in board keeps writing come out in order, decoded.

    The board repeats them because opening a port discards what was sent before,
    as on a real USB serial adapter.
    """
    done = threading.Event()

    def board() -> None:
        while not done.wait(0.05):
            pty.write(
                b"boot: MicroPython v1.24\r\n"
                b'SL {"k":"button","p":{"press":"long","seq":4}}\r\n'
                b"SL not json\r\n"
            )

    writer = threading.Thread(target=board, daemon=True)
    writer.start()
    try:
        code = cli.main(["monitor", "--port", pty.path, "--lines", "6"])
    finally:
        done.set()
        writer.join(5)
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    first = out.index("boot: MicroPython v1.24")
    assert "button" in out[first + 1]
    assert '"press": "long"' in out[first + 1]
    assert out[first + 2].startswith("broken SL line")


def test_stream_asks_for_raw_readings_and_stops_them(pty, sim_board, capsys):
    """With --stream the board is asked to start raw lines and to stop them at the end."""
    code = cli.main(["monitor", "--port", pty.path, "--stream", "--lines", "4"])
    out = capsys.readouterr().out
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()] == ["raw"] * 4

    def streams() -> list[bool]:
        return [m["p"] for m in sim_board.received if m["k"] == "stream"]

    assert wait_until(lambda: len(streams()) == 2)
    assert streams() == [True, False]
