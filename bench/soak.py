"""Soak: many desks for a long stretch of accelerated time; memory and spool must stay flat.

The real hub service runs on its own owner thread with its real checkpoint
and real history (spool and writer, to a private influxd unless
``--no-influx``). Only the clock is injected, so thirty minutes pass in far
less, and the broker is left out: messages go straight onto the service's
inbox, as the MQTT transport would put them there. Each simulated chair sits
and stands on its own schedule, sends telemetry every minute, now and then
drops offline, and answers alerts the way people do (most stand up, some
snooze, a few ignore it).

Every simulated minute it records the process RSS, the spool's rows and
bytes, the inbox length and the number of desks, and counts every log line at
WARNING or above. It exits 0 when memory and spool stayed flat and nothing
was logged at ERROR, 1 otherwise.

    .venv/bin/python bench/soak.py --desks 10000 --minutes 30
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import logging
import random
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import influx, write_result
from hub import config
from hub.core.service import HubService
from hub.history import History
from hub.mqtt.inbox import Inbound

PREFIX = "soak"
T0 = 1_774_000_000.0  # a Friday morning, inside default working hours
RSS_GROWTH_LIMIT_PCT = 10.0
SPOOL_GROWTH_LIMIT = 2.0


class SimClock:
    """The service's clock: moved only by the soak loop."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class CountingLink:
    """Stands in for the broker connection: counts what the hub sends, keeps alerts to answer."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.connected.set()
        self.sent: Counter[str] = Counter()
        self.alerts: deque[str] = deque()

    def start(self) -> None:
        """Nothing to connect."""

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:  # noqa: ARG002 - the transport's signature
        kind = topic.rsplit("/", 1)[-1]
        self.sent[kind] += 1
        if kind == "cmd" and b'"alert"' in payload:
            self.alerts.append(topic.split("/")[-2])


class LogTally(logging.Handler):
    """Counts log lines by level and keeps the first few at WARNING or above."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[str] = Counter()
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname.lower()] += 1
        if len(self.first) < 10:
            self.first.append(f"{record.levelname} {record.name}: {record.getMessage()[:200]}")


class Chairs:
    """Every simulated chair's next event, in one heap ordered by time."""

    def __init__(self, desks: int, rng: random.Random) -> None:
        self.rng = rng
        self.names = [f"desk-{i:05d}" for i in range(desks)]
        self.seated = [False] * desks
        self.seq = [0] * desks
        self.boot = [f"b{i:x}" for i in range(desks)]
        self.online = [True] * desks
        self.heap: list[tuple[float, int, str]] = []
        for i in range(desks):
            first = T0 + rng.uniform(0, 60)
            heapq.heappush(self.heap, (first, i, "status"))
            heapq.heappush(self.heap, (first + 0.5, i, "move"))
            heapq.heappush(self.heap, (first + 1 + rng.uniform(0, 60), i, "telemetry"))

    def due(self, until: float) -> Iterator[tuple[float, int, str]]:
        while self.heap and self.heap[0][0] <= until:
            yield heapq.heappop(self.heap)

    def later(self, when: float, i: int, what: str) -> None:
        heapq.heappush(self.heap, (when, i, what))

    def message(self, when: float, i: int, what: str) -> tuple[str, bytes] | None:
        """The topic and payload for one event, scheduling the chair's next one."""
        desk, rng = self.names[i], self.rng
        if what == "status":
            self.online[i] = not self.online[i] if rng.random() < 0.5 else True
            if not self.online[i]:
                self.later(when + rng.uniform(2, 90), i, "status")  # back after a short while
            else:
                self.later(when + rng.uniform(600, 3600), i, "status")
            return f"{PREFIX}/{desk}/status", b"online" if self.online[i] else b"offline"
        if what == "telemetry":
            self.later(when + 60, i, "telemetry")
            body = {
                "ts": when,
                "uptime_ms": int((when - T0) * 1000),
                "value": 900.0,
                "baseline": 200.0,
                "rssi": -60,
                "heap_free": 90000,
                "fw": "1.0.0",
                "reconnects": 0,
            }
            return f"{PREFIX}/{desk}/telemetry", json.dumps(body).encode()
        if what == "press":
            return self._button(when, i, "short")
        if what == "stand" and not self.seated[i]:
            return None
        # "move" and "stand": flip between seated and vacant
        self.seated[i] = not self.seated[i]
        stay = rng.uniform(600, 3000) if self.seated[i] else rng.uniform(30, 600)
        self.later(when + stay, i, "move")
        return self._occupancy(when, i)

    def answer_alert(self, now: float, i: int) -> None:
        """Most people stand up within two minutes, some snooze, a few ignore it."""
        roll = self.rng.random()
        if roll < 0.7:
            self.later(now + self.rng.uniform(5, 120), i, "stand")
        elif roll < 0.9:
            self.later(now + self.rng.uniform(1, 20), i, "press")

    def _occupancy(self, when: float, i: int) -> tuple[str, bytes]:
        self.seq[i] += 1
        body = {
            "seated": self.seated[i],
            "seq": self.seq[i],
            "boot": self.boot[i],
            "ts": when,
            "uptime_ms": int((when - T0) * 1000),
            "value": 1800.0 if self.seated[i] else 200.0,
        }
        return f"{PREFIX}/{self.names[i]}/occupancy", json.dumps(body).encode()

    def _button(self, when: float, i: int, press: str) -> tuple[str, bytes]:
        self.seq[i] += 1
        body = {
            "press": press,
            "seq": self.seq[i],
            "boot": self.boot[i],
            "ts": when,
            "uptime_ms": int((when - T0) * 1000),
        }
        return f"{PREFIX}/{self.names[i]}/button", json.dumps(body).encode()


def put(service: HubService, item: Inbound | None) -> None:
    """Hand one message to the owner's inbox, waiting for room as the network thread does."""
    while service.inbox.put_many([item]) == 0:
        time.sleep(0.001)


def settle(service: HubService) -> None:
    """Wait until the owner thread has emptied the inbox and finished its batch."""
    while service.inbox.qsize():
        time.sleep(0.001)
    with service._lock:  # the owner holds it while it works on a batch  # noqa: SLF001
        pass


def spool_files_bytes(state: Path) -> int:
    return sum(p.stat().st_size for p in state.glob("sitless-spool.sqlite3*"))


def soak(args: argparse.Namespace, state: Path, influx_url: str | None) -> dict[str, Any]:
    history_cfg: dict[str, Any] = {"sample_period": 60, "max_spool_mb": 1024}
    if influx_url:
        history_cfg |= {"api": "v1", "url": influx_url, "database": "sitless"}
    cfg = config.from_mapping(
        {
            "mqtt": {"prefix": PREFIX},
            "sitting": {"limit": args.limit, "min_break": "2m", "escalate_after": "5m"},
            "schedule": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
            "history": history_cfg,
            "limits": {"max_desks_per_prefix": max(args.desks, 1)},
            "state_dir": str(state),
        }
    )
    tally = LogTally()
    logging.getLogger().addHandler(tally)
    logging.getLogger().setLevel(logging.WARNING)
    clock, link = SimClock(T0), CountingLink()
    service = HubService(cfg, history=History(cfg), transport=link, clock=clock)
    chairs = Chairs(args.desks, random.Random(args.seed))  # noqa: S311 - a simulation, seeded to repeat
    index = {name: i for i, name in enumerate(chairs.names)}
    proc = psutil.Process()
    minutes: list[dict[str, Any]] = []
    messages = 0
    started = time.monotonic()
    service.start()
    try:
        for second in range(1, int(args.minutes * 60) + 1):
            now = T0 + second
            clock.now = now
            while link.alerts:
                chairs.answer_alert(now, index[link.alerts.popleft()])
            for when, i, what in chairs.due(now):
                found = chairs.message(when, i, what)
                if found is not None:
                    put(service, Inbound(found[0], found[1], retain=False, received=now))
                    messages += 1
            put(service, None)  # wake the owner so deadlines at this second fire
            settle(service)
            if second % 60 == 0:
                stats = service.history.stats()  # type: ignore[attr-defined]
                minutes.append(
                    {
                        "minute": second // 60,
                        "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                        "spool_rows": stats["spool_rows"],
                        "spool_bytes": stats["spool_bytes"],
                        "spool_files_bytes": spool_files_bytes(state),
                        "desks": len(service.desks),
                        "alerts": link.sent["cmd"],
                        "wall_s": round(time.monotonic() - started, 1),
                    }
                )
                if args.verbose:
                    print(json.dumps(minutes[-1]), flush=True)
        if influx_url:  # let the writer catch up, then one last look at the spool
            deadline = time.monotonic() + 120
            while service.history.stats()["spool_rows"] and time.monotonic() < deadline:  # type: ignore[attr-defined]
                time.sleep(0.2)
        final = service.history.stats()  # type: ignore[attr-defined]
    finally:
        service.stop()
        logging.getLogger().removeHandler(tally)
    run = Run(
        minutes,
        final,
        messages,
        link,
        service.counters.snapshot(),
        tally,
        time.monotonic() - started,
    )
    return verdict(args, run)


@dataclass(frozen=True)
class Run:
    """What one soak measured."""

    minutes: list[dict[str, Any]]
    final: dict[str, Any]
    messages: int
    link: CountingLink
    counters: dict[str, Any]
    tally: LogTally
    wall_s: float


def verdict(args: argparse.Namespace, run: Run) -> dict[str, Any]:
    """Figures and the flat-or-not judgement."""
    minutes, final, tally, counters = run.minutes, run.final, run.tally, run.counters
    third = max(1, len(minutes) // 3)
    settled = minutes[third - 1]  # after the first third every desk exists and has a history
    last = minutes[-1]
    rss_growth = 100.0 * (last["rss_mb"] - settled["rss_mb"]) / settled["rss_mb"]
    early_spool = max(m["spool_files_bytes"] for m in minutes[: third * 2]) or 1
    late_spool = max(m["spool_files_bytes"] for m in minutes[third * 2 :])
    flat = rss_growth <= RSS_GROWTH_LIMIT_PCT and (
        not args.influx or late_spool <= SPOOL_GROWTH_LIMIT * early_spool
    )
    return {
        "desks": args.desks,
        "simulated_minutes": args.minutes,
        "wall_s": round(run.wall_s, 1),
        "messages": run.messages,
        "dropped": counters["dropped"],
        "sent": dict(run.link.sent),
        "rss_mb": {
            "after_first_third": settled["rss_mb"],
            "end": last["rss_mb"],
            "growth_pct": round(rss_growth, 2),
        },
        "spool_files_bytes": {"max_first_two_thirds": early_spool, "max_last_third": late_spool},
        "spool_rows_end": final["spool_rows"],
        "written": final["written"],
        "refused": final["refused"],
        "log": dict(tally.counts),
        "first_log_lines": tally.first,
        "flat": flat,
        "ok": flat
        and tally.counts["error"] == 0
        and tally.counts["critical"] == 0
        and not counters["dropped"].get("internal_error"),
        "minutes": minutes,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desks", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=30.0, help="simulated minutes")
    parser.add_argument(
        "--limit",
        default="10m",
        help="sitting.limit for the run (short, so alerts happen within it)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--no-influx",
        dest="influx",
        action="store_false",
        help="keep history in the local spool only (it then grows by design)",
    )
    parser.add_argument("--out", help="result file (default bench/results/soak.json)")
    parser.add_argument("-v", "--verbose", action="store_true", help="print every minute")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sitless-soak-") as tmp:
        state = Path(tmp) / "state"
        with contextlib.ExitStack() as stack:
            url = stack.enter_context(influx(Path(tmp) / "influxd")).url if args.influx else None
            figures = soak(args, state, url)
    write_result("soak", figures, args.out)
    summary = {
        k: figures[k]
        for k in (
            "desks",
            "simulated_minutes",
            "wall_s",
            "messages",
            "rss_mb",
            "spool_files_bytes",
            "log",
            "flat",
            "ok",
        )
    }
    print(json.dumps(summary, indent=2))
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
