"""``sitless fleet``: the desks the broker knows; config and tare for one desk or all."""

from __future__ import annotations

import argparse
import time
from typing import Any

from rich.console import Console
from rich.table import Table

from hub import config
from hub.board.provision import parse_assignment
from hub.errors import ConfigError
from hub.fleet.fleet import DeskRow, FleetView, PushResult, push_config, send_tare, with_broker


def register(sub: Any) -> None:
    """Add the sub-command and its ``config`` action."""
    p: argparse.ArgumentParser = sub.add_parser(
        "fleet",
        help="list the desks seen on the broker, push config to them or tare them",
        description="Without an action: read the retained info, status and sitting messages "
        "(and a few seconds of telemetry) and print one row per desk. "
        "'fleet config' sends a config command to one desk or all and reports "
        "each desk's ack.",
    )
    p.add_argument("--config", "-c", metavar="FILE", help="hub TOML configuration")
    p.add_argument(
        "--wait", type=float, default=3.0, help="seconds to listen for desks (default 3)"
    )
    p.set_defaults(func=show)
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    push = actions.add_parser(
        "config",
        help="send config keys to desks",
        description="Send a config command (QoS 1, never retained) and wait for the acks. "
        "Values are JSON where they parse as JSON (26, null, 1.5), else text. The broker "
        "keys (--broker, --ca) take effect when the chair restarts; a chair given a broker "
        "it cannot reach is only set right again over USB (sitless provision).",
    )
    target = push.add_mutually_exclusive_group(required=True)
    target.add_argument("--desk", action="append", help="desk id (repeatable)")
    target.add_argument("--all", action="store_true", help="every desk seen on the broker")
    push.add_argument("--prefix", help="topic prefix of --desk (default: the first configured)")
    push.add_argument(
        "--config", "-c", dest="push_config", metavar="FILE", help="hub TOML configuration"
    )
    push.add_argument(
        "--wait",
        type=float,
        default=10.0,
        dest="ack_wait",
        help="seconds to wait for acks (default 10)",
    )
    push.add_argument(
        "--broker",
        metavar="URL",
        help="the broker the chair connects to, mqtt://host[:port] or mqtts://host[:port] "
        "(TLS, port 8883 unless given): sets mqtt_host, mqtt_port and mqtt_tls",
    )
    push.add_argument(
        "--ca",
        metavar="FILE",
        help="over TLS, the CA certificate file on the board (mqtt_ca; ca.pem by default); "
        "copy it to the board first",
    )
    push.add_argument("settings", nargs="*", metavar="KEY=VALUE")
    push.set_defaults(func=push_cmd)
    tare = actions.add_parser(
        "tare",
        help="take the empty-seat baseline now",
        description="Send tare (QoS 1, never retained) and show each chair's ack. A chair "
        "refuses while someone sits; the refusal and its reason are shown.",
    )
    tare_target = tare.add_mutually_exclusive_group(required=True)
    tare_target.add_argument("--desk", action="append", help="desk id (repeatable)")
    tare_target.add_argument("--all", action="store_true", help="every desk seen on the broker")
    tare.add_argument("--prefix", help="topic prefix of --desk (default: the first configured)")
    tare.add_argument(
        "--config", "-c", dest="push_config", metavar="FILE", help="hub TOML configuration"
    )
    tare.add_argument(
        "--wait",
        type=float,
        default=10.0,
        dest="ack_wait",
        help="seconds to wait for acks (default 10)",
    )
    tare.set_defaults(func=tare_cmd)


def _ago(when: float | None) -> str:
    if when is None:
        return "-"
    seconds = max(0.0, time.time() - when)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def _online(value: bool | None) -> str:
    return {True: "online", False: "offline", None: "-"}[value]


def render(rows: list[DeskRow]) -> Table:
    """One row per desk, in a table a person can scan."""
    table = Table(title=f"{len(rows)} desk(s)")
    for column in ("prefix", "desk", "status", "state", "firmware", "board", "sensor", "last seen"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.prefix,
            row.desk,
            _online(row.online),
            row.state or "-",
            row.fw or "-",
            row.board or "-",
            row.sensor or "-",
            _ago(row.last_seen),
        )
    return table


def show(args: argparse.Namespace) -> int:
    """Print the table."""
    cfg = config.load(args.config)
    rows = FleetView(cfg.mqtt).collect(args.wait)
    console = Console(highlight=False)
    if not rows:
        console.print(f"no desks seen under {', '.join(cfg.mqtt.prefixes)}")
        return 0
    console.print(render(rows))
    return 0


def _targets(args: argparse.Namespace, cfg: config.HubConfig) -> list[tuple[str, str]]:
    """The (prefix, desk) pairs of --desk, or of every desk seen with --all."""
    if args.all:
        seen = FleetView(cfg.mqtt).collect(args.wait)
        targets = [(row.prefix, row.desk) for row in seen]
        if not targets:
            raise ConfigError(["--all: no desks seen on the broker"])
        return targets
    prefix = args.prefix or cfg.mqtt.prefixes[0]
    return [(prefix, desk) for desk in args.desk]


def _report(results: list[PushResult]) -> int:
    console = Console(highlight=False, soft_wrap=True)
    for result in results:
        console.print(f"{result.prefix}/{result.desk}: {_answer(result)}")
    return 0 if all(r.ok for r in results) else 1


def push_cmd(args: argparse.Namespace) -> int:
    """Validate, choose the desks, send, and report each answer; 1 if any desk failed."""
    cfg = config.load(args.push_config or args.config)
    settings = dict(parse_assignment(text) for text in args.settings)
    settings = with_broker(settings, args.broker, args.ca)
    targets = _targets(args, cfg)
    return _report(push_config(cfg.mqtt, targets, settings, args.ack_wait))


def tare_cmd(args: argparse.Namespace) -> int:
    """Send tare and report each chair's ack; 1 if any chair refused or did not answer."""
    cfg = config.load(args.push_config or args.config)
    return _report(send_tare(cfg.mqtt, _targets(args, cfg), args.ack_wait))


def _answer(result: PushResult) -> str:
    if result.ok is None:
        return "no answer"
    return "ok" if result.ok else f"refused: {result.error or 'no reason given'}"
