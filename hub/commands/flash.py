"""``sitless flash``: erase a board and write the MicroPython firmware image with esptool."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from hub.board.flashing import flash

DOWNLOAD_HINT = (
    "download the ESP32_GENERIC .bin from https://micropython.org/download/ and "
    "pass it with --firmware FILE"
)


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "flash",
        help="erase the board and write MicroPython to it",
        description="Check the firmware image, detect the board's chip, erase the flash and "
        "write the image at the chip's offset (0x1000 on the ESP32). "
        f"The image is not bundled: {DOWNLOAD_HINT}.",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--firmware", "-f", metavar="FILE", help="MicroPython image (.bin)")
    p.add_argument("--baud", type=int, default=460800, help="flashing speed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Flash, leaving esptool's progress on the terminal."""
    if not args.firmware:
        print(f"sitless: no firmware image given; {DOWNLOAD_HINT}", file=sys.stderr)
        return 2
    chip = flash(args.port, Path(args.firmware), baud=args.baud)
    print(
        f"MicroPython written to the {chip.name} on {args.port}; "
        f"next: sitless deploy --port {args.port}"
    )
    return 0
