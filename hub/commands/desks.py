"""``sitless desks``: the desks the hub remembers, and forgetting some of them.

The hub remembers every desk that ever spoke, in its checkpoint, so a restart
carries each bout on. Desks that never were real (a flood of made-up ids) or
that left for good can be forgotten here, with the hub stopped: their
checkpoint rows go, and so do their retained ``sitting`` views on the broker
(or a restarted hub would take the bouts up again from them).
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from hub import config
from hub.contract import protocol
from hub.core.checkpoint import Checkpoint
from hub.core.service import CHECKPOINT_FILE
from hub.errors import ConfigError, DeviceError
from hub.mqtt import paho as tools_mqtt


def register(sub: Any) -> None:
    """Add the sub-command and its actions."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    p: argparse.ArgumentParser = sub.add_parser(
        "desks",
        help="list the desks the hub remembers, or forget some of them",
        description="The hub remembers every desk that spoke, in the checkpoint under "
        "state_dir. Run these with the hub stopped.",
    )
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser(
        "list", parents=[common], help="every desk in the checkpoint, with when it last spoke"
    )
    listing.set_defaults(func=run_list)
    forget = actions.add_parser(
        "forget",
        parents=[common],
        help="forget desks: their checkpoint rows and their retained views on the broker",
        description="Forget the named desks (or every desk without a [desks.*] section): "
        "remove their rows from the checkpoint and clear their retained sitting views "
        "on the broker. Run it with the hub stopped; the broker must be reachable "
        "(exit 3, nothing forgotten, when it is not).",
    )
    forget.add_argument("desk", nargs="*", help="desk ids to forget")
    forget.add_argument(
        "--unconfigured", action="store_true", help="every desk without a [desks.*] section"
    )
    forget.set_defaults(func=run_forget)


def run_list(args: argparse.Namespace) -> int:
    """One line per remembered desk: id, prefix, configured or not, last change (UTC)."""
    cfg = config.load(args.config)
    checkpoint = Checkpoint(cfg.state_path(CHECKPOINT_FILE))
    try:
        saved = checkpoint.load()
    finally:
        checkpoint.close()
    for desk_id in sorted(saved):
        one = saved[desk_id]
        when = dt.datetime.fromtimestamp(one.updated, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        kind = "configured" if desk_id in cfg.desks else "unconfigured"
        print(f"{desk_id}\t{one.state.get('prefix', '')}\t{kind}\t{when}")
    return 0


def run_forget(args: argparse.Namespace) -> int:
    """Clear the chosen desks' retained views, then their checkpoint rows."""
    cfg = config.load(args.config)
    if not args.desk and not args.unconfigured:
        raise ConfigError(["name the desks to forget, or give --unconfigured"])
    checkpoint = Checkpoint(cfg.state_path(CHECKPOINT_FILE))
    try:
        saved = checkpoint.load()
        unknown = [d for d in args.desk if d not in saved]
        if unknown:
            shown = ", ".join(repr(d[:60]) for d in unknown[:10])
            raise ConfigError([f"no desk {shown} in the checkpoint"])
        chosen = set(args.desk)
        if args.unconfigured:
            chosen |= {d for d in saved if d not in cfg.desks}
        views = [
            protocol.device_topic(str(saved[d].state.get("prefix", "")), d, "sitting")
            for d in sorted(chosen)
            if saved[d].state.get("prefix") in cfg.mqtt.prefixes
        ]
        _clear_retained(cfg.mqtt, views)
        checkpoint.forget(sorted(chosen))
    finally:
        checkpoint.close()
    print(f"forgot {len(chosen)} desk(s)")
    return 0


def _clear_retained(cfg: config.MqttConfig, topics: list[str]) -> None:
    """Publish an empty retained message on each topic (the standard way to delete one)."""
    if not topics:
        return
    client = tools_mqtt.make_client(cfg, tools_mqtt.unique_id("desks"))
    tools_mqtt.connect(client, cfg)
    try:
        for topic in topics:
            info = client.publish(topic, b"", qos=1, retain=True)
            info.wait_for_publish(10)
            if not info.is_published():
                raise DeviceError(f"the broker did not take the deletion of {topic}")
    finally:
        client.loop_stop()
        client.disconnect()
