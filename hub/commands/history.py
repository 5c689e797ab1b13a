"""``sitless history init``: the InfluxDB retention the configuration asks for."""

from __future__ import annotations

import argparse
from typing import Any

from hub import config
from hub.history import retention


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "history",
        help="history tools: set up the database's retention",
        description="History tools for the configured InfluxDB.",
    )
    inner = p.add_subparsers(dest="history_command", metavar="ACTION")
    inner.required = True
    init = inner.add_parser(
        "init",
        help="create the databases or buckets and set their retention",
        description="Create the configured databases (InfluxDB 1.x) or buckets (2.x, "
        "through its API) and set how long each keeps its points: desk-level data "
        "for history.desk_retention (30 days), zone aggregates for "
        'history.zone_retention (2 years) under privacy = "aggregate". Safe to run '
        "again; a changed duration is applied. Needs a login or token allowed to "
        "manage the databases or buckets (an administrator's, not the hub's own). "
        "Exit 1 if the server refuses or cannot be reached.",
    )
    init.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    init.set_defaults(func=run_init)


def run_init(args: argparse.Namespace) -> int:
    """Apply and print what changed."""
    cfg = config.load(args.config)
    for line in retention.apply(cfg.history):
        print(line)
    return 0
