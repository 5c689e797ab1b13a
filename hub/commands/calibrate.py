"""``sitless calibrate``: measure the seat empty and occupied, and write the points to the board."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from hub.board.calibration import Calibrator
from hub.board.link import DEFAULT_BAUD, SerialLink
from hub.errors import SitlessError


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "calibrate",
        help="measure the empty and occupied seat and store the thresholds",
        description="Stream raw readings from the board, ask for an empty chair and then a "
        "seated person, compute the calibration points and write them to the "
        "board with a config command (it answers with an ack).",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="serial speed")
    p.add_argument(
        "--samples",
        type=int,
        default=15,
        help="readings per phase (the board sends about 5 a second)",
    )
    p.add_argument(
        "--timeout", type=float, default=10.0, help="seconds to wait for readings or the ack"
    )
    p.add_argument("--dry-run", action="store_true", help="measure and show, but do not write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Interactive: prompts on the terminal, live values on one line."""
    console = Console(highlight=False)

    def ask(text: str) -> object:
        try:
            return console.input(f"[bold]{text}[/bold] ")
        except EOFError as exc:
            raise SitlessError(
                "calibration needs a person at the keyboard to press Enter "
                "between the empty and the seated readings"
            ) from exc

    def show(count: int, total: int, value: float) -> None:
        console.print(f"  reading {count:>3}/{total}: {value:10.1f}", end="\r")
        if count == total:
            console.print()

    link = SerialLink.open(args.port, args.baud)
    try:
        calibrator = Calibrator(link, ask, show, samples=max(3, args.samples), timeout=args.timeout)
        result = calibrator.measure()
        console.print(
            f"empty {result.empty:g}, occupied {result.occupied:g} "
            f"(noise {result.noise:g}); seated above {result.enter:.1f}, "
            f"vacant below {result.leave:.1f}"
        )
        if args.dry_run:
            return 0
        calibrator.write(result)
        console.print("written to the board")
    finally:
        link.close()
    return 0
