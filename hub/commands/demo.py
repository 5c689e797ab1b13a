"""``sitless demo``: the whole system on one machine with nothing installed but the package.

An MQTT broker (embedded amqtt unless a reachable one is configured), the hub
at demo speed, history in a local spool in a temporary folder, simulated
chairs running the firmware's own logic, Home Assistant discovery and the live
status page. Ctrl-C or SIGTERM stops everything in reverse order.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import threading
from collections.abc import Hashable, Mapping
from pathlib import Path
from types import FrameType
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from hub import config
from hub.config import HubConfig
from hub.contract.vocabulary import WEEKDAYS
from hub.core.service import HubService
from hub.devtools.embedded_broker import EmbeddedBroker, reachable
from hub.devtools.simulate import Simulator, desk_names
from hub.errors import ConfigError
from hub.history.recorder import History
from hub.history.today import TodaySource, TodayTally
from hub.integrations.homeassistant import Discovery
from hub.web.server import StatusServer
from hub.web.source import DeskView
from hub.web.status import ServiceSource

DEMO_LIMITS = {
    "limit": 60.0,
    "min_break": 15.0,
    "escalate_after": 20.0,
    "snooze": 20.0,
    "pause": 60.0,
}
ALL_DAYS = list(WEEKDAYS)


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "demo",
        help="run broker, hub, simulated chairs and the status page at demo speed",
        description="Start an embedded MQTT broker (unless --broker names a reachable one), "
        "the hub with demo-speed limits, simulated chairs running the firmware's "
        "own logic, and the live status page. Ctrl-C stops it.",
    )
    p.add_argument(
        "--desks", type=int, default=12, metavar="N", help="number of simulated chairs (default 12)"
    )
    p.add_argument(
        "--floors", type=int, default=2, metavar="N", help="floors to spread them over (default 2)"
    )
    p.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="R",
        help="how many times faster than real time the chairs live (default 1)",
    )
    p.add_argument(
        "--broker", metavar="URL", help="use this broker (mqtt://host:port) if it is reachable"
    )
    p.add_argument("--host", default="127.0.0.1", help="status page address (default loopback)")
    p.add_argument(
        "--port",
        type=int,
        default=8080,
        help="status page port (default 8080; a free one if taken)",
    )
    p.add_argument("--seed", type=int, default=None, help="repeat the same simulated day")
    p.set_defaults(func=run)


class DemoSource:
    """The service as the page sees it, plus the spool's backlog for /metrics."""

    def __init__(self, service: HubService, history: History) -> None:
        self._inner = ServiceSource(service)
        self._history = history

    def snapshot(self) -> list[DeskView]:
        """Every desk, from the service."""
        return self._inner.snapshot()

    def changed_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskView]]:
        """The desks that changed, from the service."""
        return self._inner.changed_since(marks)

    def counters(self) -> Mapping[str, float]:
        """The service's counters and the history backlog (nothing waits without a server)."""
        out = dict(self._inner.counters())
        rows = self._history.stats().get("spool_rows") or 0
        out["spool_backlog"] = float(rows if self._history.server_configured else 0)
        return out

    def pause(self, desk: str) -> None:
        """Pass the page's pause button to the service."""
        self._inner.pause(desk)


def demo_config(  # noqa: PLR0913 - one argument per demo setting
    broker_url: str,
    state_dir: Path,
    desks: list[tuple[str, str, str]],
    host: str,
    port: int,
    *,
    mqtt_protocol: str = "5",
) -> HubConfig:
    """The hub's configuration at demo speed."""
    return config.from_mapping(
        {
            "mqtt": {
                "url": broker_url,
                "prefix": "sitless",
                "client_id": "sitless-demo-hub",
                "protocol": mqtt_protocol,
            },
            "sitting": {
                "limit": DEMO_LIMITS["limit"],
                "min_break": DEMO_LIMITS["min_break"],
                "escalate_after": DEMO_LIMITS["escalate_after"],
                "snooze": DEMO_LIMITS["snooze"],
                "pause": DEMO_LIMITS["pause"],
                "telemetry_period": 10.0,
            },
            "schedule": {"days": ALL_DAYS, "start": "00:00", "end": "24:00"},
            "history": {"spool": str(state_dir / "history.sqlite3"), "sample_period": 10.0},
            "status": {"enabled": True, "host": host, "port": port},
            "state_dir": str(state_dir),
            "desks": {
                desk: {"site": "demo", "floor": floor, "zone": zone} for desk, floor, zone in desks
            },
        }
    )


def _pick_broker(url: str | None) -> tuple[str, EmbeddedBroker | None]:
    if url:
        parsed = config.MqttConfig(url=url)
        if reachable(parsed.host, parsed.port):
            return url, None
    broker = EmbeddedBroker().start()
    return broker.url, broker


def _banner(  # noqa: PLR0913 - one line per banner row
    console: Console,
    page: str,
    broker: str,
    *,
    embedded: bool,
    desks: int,
    spool: Path,
) -> None:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("status page", f"[link={page}]{page}[/link]")
    table.add_row("broker", f"{broker}{' (embedded)' if embedded else ''}")
    table.add_row("chairs", f"{desks} simulated, running the firmware's own logic")
    table.add_row(
        "limits",
        f"alert after {DEMO_LIMITS['limit']:g} s seated, "
        f"a break is {DEMO_LIMITS['min_break']:g} s, "
        f"louder every {DEMO_LIMITS['escalate_after']:g} s",
    )
    table.add_row("history", str(spool))
    console.print(
        Panel(table, title="sitless demo", subtitle="Ctrl-C stops it", border_style="green")
    )


def run(args: argparse.Namespace) -> int:
    """Start everything, wait for Ctrl-C or SIGTERM, stop everything in reverse order."""
    if args.desks < 1 or args.floors < 1 or args.rate <= 0:
        raise ConfigError(["--desks and --floors must be at least 1, --rate above 0"])
    console = Console()
    stopping = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state_dir = Path(tempfile.mkdtemp(prefix="sitless-demo-"))
    desks = desk_names(args.desks, args.floors)
    port = args.port if args.port == 0 or not reachable(args.host, args.port) else 0
    stack: list[Any] = []
    try:
        url, embedded = _pick_broker(args.broker)
        if embedded is not None:
            stack.append(embedded)
        # The embedded broker (amqtt) speaks MQTT 3.1.1 only.
        cfg = demo_config(
            url,
            state_dir,
            desks,
            args.host,
            port,
            mqtt_protocol="3.1.1" if embedded is not None else "5",
        )
        history = History(cfg)
        tally = TodayTally(history)
        service = HubService(cfg, history=tally)
        service.start()
        stack.append(service)
        page = StatusServer(
            TodaySource(DemoSource(service, history), tally),
            cfg.status.host,
            cfg.status.port,
            title="sitless demo",
            limits=DEMO_LIMITS,
            operations=ServiceSource(service, history),
        ).start()
        stack.append(page)
        stack.append(Discovery(cfg).start())
        sim = Simulator(
            cfg.mqtt.host,
            cfg.mqtt.port,
            [d for d, _, _ in desks],
            rate=args.rate,
            seed=args.seed,
            limit_s=int(DEMO_LIMITS["limit"]),
            min_break_s=int(DEMO_LIMITS["min_break"]),
        ).start()
        stack.append(sim)
        _banner(
            console,
            page.url,
            url,
            embedded=embedded is not None,
            desks=len(desks),
            spool=cfg.state_path(cfg.history.spool),
        )
        while not stopping.wait(0.5):
            pass
        console.print("stopping…")
    finally:
        for part in reversed(stack):
            part.stop()
        shutil.rmtree(state_dir, ignore_errors=True)
    return 0
