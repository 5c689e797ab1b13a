"""``sitless ota``: update the firmware of one desk or all of them over WiFi."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from hub import config
from hub.board.firmware_files import locate
from hub.errors import ConfigError
from hub.fleet.fleet import FleetView
from hub.fleet.ota import CONFIRM_S, UpdateResult, UpdateServer, build_manifest, run_update


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "ota",
        help="update desks' firmware over WiFi",
        description="Serve the firmware files over HTTP, send each desk an update command "
        "(version, and each file's size and SHA-256), and follow it: the download, the "
        "chair's ack, and the version it runs after its restart (the new one, or the old "
        "one after a rollback). A chair refuses while an alert is active or while seated.",
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--desk", action="append", help="desk id (repeatable)")
    target.add_argument("--all", action="store_true", help="every desk seen on the broker")
    p.add_argument("--prefix", help="topic prefix of --desk (default: the first configured)")
    p.add_argument("--config", "-c", metavar="FILE", help="hub TOML configuration")
    p.add_argument(
        "--firmware",
        metavar="DIR",
        help="firmware folder (default: the files shipped with sitless)",
    )
    p.add_argument(
        "--bind", default="127.0.0.1", help="address the update server listens on (127.0.0.1)"
    )
    p.add_argument("--port", type=int, default=0, help="its port (default: any free one)")
    p.add_argument(
        "--advertise",
        metavar="HOST",
        help="host name or address the chairs reach the server by (default: --bind)",
    )
    p.add_argument(
        "--seated", action="store_true", help="let a chair update while someone sits on it"
    )
    p.add_argument(
        "--confirm",
        type=int,
        default=CONFIRM_S,
        metavar="SECONDS",
        help=f"seconds the new code has to reach the broker before it is rolled back "
        f"(default {CONFIRM_S})",
    )
    p.add_argument(
        "--wait", type=float, default=600.0, help="seconds to follow the update (default 600)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the manifest, serve it, update, report; 1 unless every desk updated."""
    cfg = config.load(args.config)
    if not 0 <= args.port <= 65535:
        raise ConfigError([f"--port: {args.port} is not a port"])
    if args.confirm < 1:
        raise ConfigError(["--confirm: give a whole number of seconds, at least 1"])
    manifest = build_manifest(Path(args.firmware) if args.firmware else locate())
    if args.all:
        targets = [(row.prefix, row.desk) for row in FleetView(cfg.mqtt).collect(3.0)]
        if not targets:
            raise ConfigError(["--all: no desks seen on the broker"])
    else:
        prefix = args.prefix or cfg.mqtt.prefixes[0]
        targets = [(prefix, desk) for desk in args.desk]
    server = UpdateServer(manifest, bind=args.bind, port=args.port, advertise=args.advertise)
    try:
        url = server.start()
    except OSError as exc:
        raise ConfigError(
            [f"--bind/--port: cannot listen on {args.bind}:{args.port}: {exc}"]
        ) from None
    console = Console(highlight=False, soft_wrap=True)
    console.print(f"firmware {manifest.version}: {len(manifest.data)} files at {url}")
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("download", total=manifest.size * len(targets))
            results = run_update(
                cfg.mqtt,
                targets,
                manifest,
                url,
                args.wait,
                seated=args.seated,
                confirm_s=args.confirm,
                tick=lambda: progress.update(task, completed=server.sent),
            )
    finally:
        server.stop()
    for result in results:
        console.print(f"{result.prefix}/{result.desk}: {_answer(result)}")
    return 0 if all(r.outcome == "updated" for r in results) else 1


def _answer(result: UpdateResult) -> str:
    return f"{result.outcome}: {result.detail}" if result.detail else result.outcome
