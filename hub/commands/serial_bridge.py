"""``sitless serial-bridge``: publish a USB-only board's events to MQTT and pass commands back."""

from __future__ import annotations

import argparse
from typing import Any

from hub import config
from hub.board.bridge import run_bridge
from hub.board.link import DEFAULT_BAUD, SerialLink
from hub.config import check_prefix
from hub.errors import ConfigError


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serial-bridge",
        help="bridge a board on a serial port to MQTT",
        description="Read the board's SL lines from the serial port and publish them as a "
        "WiFi board would (status online, offline as last will); pass the desk's "
        "commands and the hub's status back as lines. Runs until interrupted.",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument(
        "--config", "-c", metavar="FILE", help="hub TOML configuration (its [mqtt] section is used)"
    )
    p.add_argument("--desk", help="desk id (default: the desk key of the board's info message)")
    p.add_argument("--prefix", help="topic prefix (default: the first one in the configuration)")
    p.add_argument("--baud", type=int, default=DEFAULT_BAUD, help="serial speed")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Validate everything before touching the port, then bridge until Ctrl-C."""
    cfg = config.load(args.config)
    prefix = args.prefix or cfg.mqtt.prefixes[0]
    try:
        check_prefix(prefix)
    except ValueError as exc:
        raise ConfigError([f"--prefix: {exc}"]) from exc
    link = SerialLink.open(args.port, args.baud)
    run_bridge(link, cfg.mqtt, prefix, args.desk)
    return 0
