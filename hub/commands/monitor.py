"""``sitless monitor``: the board's console with its SL events decoded, for debugging."""

from __future__ import annotations

import argparse
import threading
from typing import Any

from rich.console import Console

from hub.board.console import monitor
from hub.board.link import DEFAULT_BAUD, SerialLink


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "monitor",
        help="show the board's console and decoded events",
        description="Print everything the board writes on its serial console; SL event lines "
        "are shown decoded and labelled. Ctrl-C ends.",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="serial speed")
    p.add_argument(
        "--stream", action="store_true", help="also ask the board for raw sensor readings"
    )
    p.add_argument(
        "--lines",
        type=int,
        default=None,
        metavar="N",
        help="stop after N lines (default: run until Ctrl-C)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print until interrupted; the port is released either way."""
    console = Console(highlight=False, soft_wrap=True)
    link = SerialLink.open(args.port, args.baud)
    try:
        monitor(link, console.print, threading.Event(), stream=args.stream, max_lines=args.lines)
    finally:
        link.close()
    return 0
