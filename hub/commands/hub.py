"""``sitless hub``: run the hub until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import threading
from types import FrameType
from typing import Any

from hub import config
from hub import log as hublog
from hub.core.service import HubService
from hub.history import History
from hub.history.today import TodaySource, TodayTally
from hub.integrations.homeassistant import Discovery
from hub.web.server import StatusServer
from hub.web.status import ServiceSource
from hub.web.wiring import start_page

logger = logging.getLogger(__name__)

# The cycle collector's first generation runs after 700 new objects by default, and
# each run that reaches the older generations walks every desk's objects: at 100 000
# desks under a flood that was a quarter of the hub's time. The hub's per-message
# objects are freed by reference counting; cycles are rare, so collect less often.
GC_THRESHOLDS = (10_000, 10, 10)


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "hub",
        help="run the hub: watch every desk and alert chairs that sat too long",
        description="Connect to the broker, follow every desk under the configured prefixes, "
        "send alerts, publish each desk's view and record history. Runs until "
        "SIGTERM or Ctrl-C; exit 2 on a bad configuration. The checkpoint and the history "
        "spool go to state_dir; without it, to $STATE_DIRECTORY (a systemd service), "
        "/var/lib/sitless (run as root), else $XDG_STATE_HOME/sitless "
        "(~/.local/state/sitless), never the current folder.",
    )
    p.add_argument("--config", "-c", metavar="FILE", help="TOML configuration file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Start everything, wait for a signal, stop everything in reverse order."""
    cfg = config.load(args.config)
    hublog.setup(cfg.log.level, json_format=cfg.log.json_format, verbosity=args.verbose)
    stopping = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logger.info("signal %d: stopping", signum)
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gc.set_threshold(*GC_THRESHOLDS)
    # The tally counts today's sitting per desk for the status page on the way to history.
    history = History(cfg)
    tally = TodayTally(history, cfg.schedule.timezone if cfg.schedule else "UTC")
    service = HubService(cfg, history=tally)
    # Restoring a large checkpoint makes a million objects and no garbage: the collector
    # would walk them again and again meanwhile. Frozen afterwards, the desks restored and
    # the modules loaded stay out of every later collection (reference counting frees them).
    gc.disable()
    try:
        service.start()
    finally:
        gc.freeze()
        gc.enable()
    web: StatusServer | None = None
    discovery: Discovery | None = None
    try:
        if cfg.status.enabled:
            # The same adapter answers /healthz and /metrics' operational numbers.
            operations = ServiceSource(service, history)
            web = start_page(cfg, TodaySource(operations, tally), operations)
        if cfg.homeassistant.enabled:
            discovery = Discovery(cfg, discovery_prefix=cfg.homeassistant.discovery_prefix)
            discovery.start()
        logger.info("hub running on prefixes %s", ", ".join(cfg.mqtt.prefixes))
        while not stopping.wait(1.0):
            pass
    finally:
        if discovery is not None:
            discovery.stop()
        if web is not None:
            web.stop()
        service.stop()
    return 0
