"""``sitless simulate``: simulated chairs publishing to any broker.

For trying a real hub or Grafana without boards, and as the load generator of
the benchmarks. Each chair runs the firmware's own logic on a synthetic
pressure trace; all share one connection and one stepping thread.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from types import FrameType
from typing import Any

from pydantic import ValidationError
from rich.console import Console

from hub import config
from hub.devtools.people import Pace
from hub.devtools.simulate import Simulator, desk_names
from hub.errors import ConfigError, DeviceError, SitlessError


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="publish simulated chairs to an MQTT broker",
        description="Run N simulated chairs (the firmware's own chair logic on synthetic "
        "people) against a broker until Ctrl-C, SIGTERM or --duration. "
        "Exit 3 when the broker cannot be reached.",
    )
    p.add_argument("--desks", type=int, default=12, metavar="N", help="chairs (default 12)")
    p.add_argument(
        "--floors",
        type=int,
        default=2,
        metavar="N",
        help="floors the desk names spread over (default 2)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="R",
        help="how many times faster than real time the chairs live (default 1)",
    )
    p.add_argument("--url", default="mqtt://127.0.0.1:1883", help="broker, mqtt://host:port")
    p.add_argument("--prefix", default="sitless", help="topic prefix (default sitless)")
    p.add_argument(
        "--pace",
        choices=("demo", "office"),
        default="demo",
        help="demo: bouts of a minute or two (for a 60 s limit); "
        "office: bouts of 15 to 60 minutes (for the default 30 min limit)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=None,
        metavar="S",
        help="the chairs' own fallback limit in seconds (default by pace)",
    )
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="S",
        help="stop after this many wall-clock seconds",
    )
    p.add_argument("--seed", type=int, default=None, help="repeat the same simulated day")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Connect, run until told to stop, then report what was published."""
    if args.desks < 1 or args.floors < 1 or args.rate <= 0:
        raise ConfigError(["--desks and --floors must be at least 1, --rate above 0"])
    try:
        mqtt = config.MqttConfig(url=args.url, prefix=args.prefix)
    except ValidationError as exc:
        raise ConfigError(config.describe_errors(exc)) from exc
    office = args.pace == "office"
    pace = Pace(scale=30.0) if office else Pace()
    limit = args.limit or (1800 if office else 60)
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    desks = [d for d, _, _ in desk_names(args.desks, args.floors)]
    console = Console(stderr=True)
    try:
        sim = Simulator(
            mqtt.host,
            mqtt.port,
            desks,
            prefix=args.prefix,
            rate=args.rate,
            pace=pace,
            seed=args.seed,
            limit_s=limit,
            min_break_s=120 if office else 15,
        ).start()
    except SitlessError as exc:
        raise DeviceError(str(exc)) from exc
    started = time.monotonic()
    console.print(
        f"{len(desks)} simulated chairs on {args.url} under {args.prefix}/, "
        f"{args.rate:g}x real time; Ctrl-C stops"
    )
    try:
        while not stopping.wait(0.5):
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
    finally:
        sim.stop()
    elapsed = max(1e-9, time.monotonic() - started)
    console.print(
        f"published {sim.published} messages in {elapsed:.1f} s "
        f"({sim.published / elapsed:.0f}/s), {sim.alerts} alerts received, "
        f"{sim.presses} button presses"
    )
    return 0
