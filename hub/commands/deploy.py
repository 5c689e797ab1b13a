"""``sitless deploy``: copy the firmware files to a board with mpremote, only what changed."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from hub.board import deploy as deploying
from hub.board.firmware_files import locate


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "deploy",
        help="copy the firmware files to the board",
        description="Copy the sitless firmware to the board's filesystem with mpremote. "
        "A second run sends only the files that changed (the board keeps a "
        "manifest of what it holds). The board's config.json is never touched.",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument(
        "--mpy",
        action="store_true",
        help="compile modules to .mpy with mpy-cross first (smaller, faster import; "
        "the board needs MicroPython v1.23 or newer for these .mpy files)",
    )
    p.add_argument("--force", action="store_true", help="send every file, changed or not")
    p.add_argument(
        "--source", metavar="DIR", help="firmware folder (default: the files shipped with sitless)"
    )
    p.add_argument("--reset", action="store_true", help="hard-reset the board afterwards")
    p.add_argument(
        "--no-soft-reset",
        dest="soft_reset",
        action="store_false",
        help="do not soft-reset the board before copying (keeps its current state)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Plan, then copy with a progress bar; quiet when nothing changed."""
    console = Console(highlight=False)
    root = locate(args.source)
    board = deploying.Mpremote(args.port, soft_reset=args.soft_reset)
    with tempfile.TemporaryDirectory(prefix="sitless-deploy-") as tmp:
        scratch = Path(tmp)
        uploads = deploying.prepare(root, mpy=args.mpy, out_dir=scratch / "mpy")
        current = deploying.board_plan(board, uploads, force=args.force)
        steps = len(current.send) + len(current.remove)
        if steps == 0:
            console.print(f"the board on {args.port} is up to date ({len(uploads)} files)")
        else:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
                transient=True,
            ) as bar:
                task = bar.add_task("deploying", total=steps)

                def advance(remote: str) -> None:
                    bar.update(task, advance=1, description=remote)

                deploying.deploy(board, current, scratch, advance)
            console.print(
                f"sent {len(current.send)} file(s), removed {len(current.remove)} on {args.port}"
            )
    if args.reset:
        board.reset()
    return 0
