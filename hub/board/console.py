"""The monitor: a board's console as a person wants to read it while debugging.

Free text (boot messages, tracebacks) passes through untouched; ``SL`` lines
become one short, labelled line each, so events stand out from the noise and a
broken line is flagged rather than hidden.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

from rich.markup import escape

from hub.board.link import SerialLink
from hub.board.serial_lines import decode
from hub.errors import ProtocolError

STYLES = {
    "occupancy": "bold green",
    "button": "bold yellow",
    "ack": "cyan",
    "status": "magenta",
    "info": "blue",
    "telemetry": "dim",
    "raw": "dim",
}


def describe(line: str) -> str:
    """One console line as rich markup: events labelled by kind, text escaped as is."""
    try:
        message = decode(line)
    except ProtocolError as exc:
        return f"[red]broken SL line ({escape(exc.reason)}):[/red] {escape(line)}"
    if message is None:
        return escape(line)
    style = STYLES.get(message.kind, "bold")
    body = (
        message.payload
        if isinstance(message.payload, str)
        else json.dumps(message.payload, separators=(", ", ": "))
    )
    return f"[{style}]{message.kind:>9}[/{style}] {escape(body)}"


def monitor(
    link: SerialLink,
    emit: Callable[[str], None],
    stop: threading.Event,
    *,
    stream: bool = False,
    max_lines: int | None = None,
) -> int:
    """Show lines until stopped (or ``max_lines``); returns how many were shown."""
    if stream:
        link.send("stream", True)
    shown = 0
    try:
        while not stop.is_set() and (max_lines is None or shown < max_lines):
            line = link.read_line(0.3)
            if line is None:
                continue
            emit(describe(line))
            shown += 1
    finally:
        if stream:
            link.send("stream", False)
    return shown
