"""Figure 2: how late each alert reaches ``P/D/cmd`` compared with its deadline.

``--desks`` desks sit down one after another over ``--spread`` seconds, each
with its own limit (``--limit`` plus 0 to 9 s, from its ``[desks.*]`` section),
so deadlines are staggered and several fall in the same millisecond. The
deadline of a desk is its sit-down time (the ``ts`` in its occupancy message)
plus its limit; the lateness is when the alert arrived at a subscriber on the
same broker minus that deadline. The baseline in the same run is the broker's
own delivery time: how long an occupancy message took from the publisher to
the same subscriber.

    .venv/bin/python bench/alerts.py --desks 10000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    HubProcess,
    RawPublisher,
    broker,
    desk_name,
    hub_config,
    percentile,
    publish_packet,
    wait_for,
    write_result,
)

PREFIX = "bench"
TICK_S = 0.01


class Watcher:
    """Records when each alert command and each occupancy message arrives."""

    def __init__(self, host: str, port: int) -> None:
        self.alerts: dict[str, float] = {}
        self.occupancy: dict[str, float] = {}
        self.duplicates = 0
        self.hub_online = threading.Event()
        self._lock = threading.Lock()
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-alert-watcher")
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=60)
        self.client.subscribe(
            [(f"{PREFIX}/+/cmd", 1), (f"{PREFIX}/+/occupancy", 1), (f"{PREFIX}/_hub/status", 1)]
        )
        self.client.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        now = time.time()
        _, desk, kind = msg.topic.split("/")
        if desk == "_hub":
            if msg.payload == b"online":
                self.hub_online.set()
            return
        with self._lock:
            if kind == "occupancy":
                self.occupancy[desk] = now
            elif json.loads(msg.payload).get("action") == "alert":
                if desk in self.alerts:
                    self.duplicates += 1
                else:
                    self.alerts[desk] = now

    def count(self) -> int:
        with self._lock:
            return len(self.alerts)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(1000 * percentile(ordered, 50), 2),
        "p99_ms": round(1000 * percentile(ordered, 99), 2),
        "max_ms": round(1000 * ordered[-1], 2) if ordered else float("nan"),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-alerts-"))
    try:
        with broker(work) as mqtt:
            return measure(args, work, mqtt)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, work: Path, mqtt: Any) -> dict[str, Any]:
    limits = {desk_name(i): args.limit + (i % 10) for i in range(args.desks)}
    sections = "".join(f'[desks.{desk}]\nlimit = "{limit}s"\n' for desk, limit in limits.items())
    extra = (
        f"[limits]\nmax_desks_per_prefix = {args.desks + 10}\n"
        f'[sitting]\nlimit = "{args.limit}s"\n{sections}'
    )
    config = hub_config(work, mqtt.url, PREFIX, extra=extra)
    watcher = Watcher(mqtt.host, mqtt.port)
    hub = HubProcess(config, work / "hub.log", profile=Path(args.profile) if args.profile else None)
    deadlines: dict[str, float] = {}
    sent_at: dict[str, float] = {}
    try:
        if not watcher.hub_online.wait(120):
            msg = "the hub did not come online"
            raise TimeoutError(msg)
        publisher = RawPublisher(mqtt.host, mqtt.port, "bench-alert-publisher")
        start = time.monotonic()
        per_tick = max(1, round(args.desks * TICK_S / args.spread))
        desks = list(limits)
        for n, first in enumerate(range(0, len(desks), per_tick)):
            delay = start + n * TICK_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            packets = []
            for desk in desks[first : first + per_tick]:
                ts = round(time.time(), 3)
                body = (
                    f'{{"seated":true,"seq":1,"boot":"bench","ts":{ts},"uptime_ms":1000,'
                    f'"value":1830.5}}'
                ).encode()
                packets.append(
                    publish_packet(f"{PREFIX}/{desk}/occupancy", body, publisher.packet_id())
                )
                deadlines[desk] = ts + limits[desk]
                sent_at[desk] = ts
            publisher.send(packets)
        publisher.wait_acked()
        last = max(deadlines.values())
        wait_for(
            lambda: watcher.count() >= args.desks,
            last - time.time() + args.timeout,
            "every alert",
            every=0.2,
        )
        publisher.close()
    finally:
        hub.stop()
        watcher.close()
    lateness = [watcher.alerts[d] - deadlines[d] for d in deadlines if d in watcher.alerts]
    delivery = [watcher.occupancy[d] - sent_at[d] for d in sent_at if d in watcher.occupancy]
    return {
        "desks": args.desks,
        "spread_s": args.spread,
        "limits_s": [args.limit, args.limit + 9],
        "alerts_received": len(lateness),
        "duplicate_alerts": watcher.duplicates,
        "early_alerts": sum(1 for x in lateness if x < -0.001),
        "alert_lateness": summary(lateness),
        "baseline_broker_delivery": summary(delivery),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desks", type=int, default=10_000, help="seated desks (default 10000)")
    parser.add_argument(
        "--limit",
        type=float,
        default=30.0,
        help="shortest limit in seconds; desks get this plus 0-9 s (default 30)",
    )
    parser.add_argument(
        "--spread",
        type=float,
        default=20.0,
        help="seconds over which the desks sit down (default 20)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for alerts after the last deadline",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the hub under py-spy and write a speedscope profile"
    )
    parser.add_argument("--out", help="result file (default bench/results/alerts.json)")
    args = parser.parse_args()
    result = run(args)
    write_result("alerts", result, args.out)
    return 0 if result["alerts_received"] == args.desks and not result["early_alerts"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
