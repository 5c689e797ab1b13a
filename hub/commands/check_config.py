"""``sitless check-config``: validate a configuration file without starting anything."""

from __future__ import annotations

import argparse
from typing import Any

from hub import config


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "check-config",
        help="validate a configuration file and print the result",
        description="Validate the TOML file and SITLESS_* environment variables; "
        "exit 0 when usable, 2 with one line per problem otherwise.",
    )
    p.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Load and report; secrets stay hidden because they are SecretStr."""
    cfg = config.load(args.config)
    desks = len(cfg.desks)
    print(
        f"configuration is valid: prefixes {', '.join(cfg.mqtt.prefixes)}, "
        f"limit {cfg.sitting.limit:g} s, {desks} desk(s) described, history {cfg.history.api}, "
        f"state in {cfg.state_dir}"
    )
    return 0
