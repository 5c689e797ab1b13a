"""The 09:00 rush: every desk sits down at once, so every deadline falls in the same instant.

``--desks`` desks publish ``seated`` in one burst, all with the same ``ts``,
so with one limit for all of them every alert falls due at ``ts + limit``.
With ``--known`` (the default) the hub met every desk before (each said
``online`` once, untimed); with ``--new`` the sit-down is each desk's first
message. Lateness is when an alert command reached a subscriber on the same
broker minus the deadline; every alert is counted, once, never early.

The baseline in the same run is the broker's floor: the time mosquitto takes
to deliver as many command-sized and view-sized QoS 1 messages (one of each
per desk, the views retained) from one publisher to one subscriber, sent in
one burst. The goal is p99 lateness at most max(250 ms, twice that floor).

With ``--viewers`` the hub's status page is on and that many live-page
viewers (raw sockets on ``/events``, as in bench/page.py) are connected and
read through the rush, each having had its first load before it.

    .venv/bin/python bench/rush.py --desks 1000 10000
    .venv/bin/python bench/rush.py --desks 10000 --new --profile rush.json
    .venv/bin/python bench/rush.py --desks 10000 --viewers 100
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    HubProcess,
    RawPublisher,
    RawSubscriber,
    broker,
    broker_floor,
    cpu_seconds,
    desk_name,
    hub_config,
    percentile,
    publish_packet,
    wait_for,
    write_result,
)
from bench.page import Viewers
from tests.support.servers import free_port

PREFIX = "bench"
WARMUP_SENTINEL = "zwarmup"
CHUNK = 2000
# What the hub sends per alert: the command and the desk's retained view (sizes as on the wire).
ALERT_BYTES = len(b'{"id":"h-10000","action":"alert","level":1,"move":"a walk or the stairs"}')
VIEW_BYTES = len(
    b'{"state":"alerting","seated_s":10,"level":1,"since":1767000000.0,"ts":1767000010.0}'
)


def ms(ordered: list[float], q: float) -> float:
    return round(1000 * percentile(ordered, q), 2)


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {
            "min_ms": float("nan"),
            "p50_ms": float("nan"),
            "p99_ms": float("nan"),
            "max_ms": float("nan"),
        }
    return {
        "min_ms": round(1000 * ordered[0], 2),
        "p50_ms": ms(ordered, 50),
        "p99_ms": ms(ordered, 99),
        "max_ms": round(1000 * ordered[-1], 2),
    }


def floor(host: str, port: int, desks: int) -> dict[str, Any]:
    """The broker alone: one command-sized and one view-sized message per desk."""
    sizes = [("{i}/cmd", ALERT_BYTES, False), ("{i}/sitting", VIEW_BYTES, True)]
    got = broker_floor(host, port, sizes, desks)
    return {
        "messages": got["messages"],
        "total_ms": round(1000 * got["total_s"], 2),
        "delivery": summary(got["delivery"]),
    }


def introduce(
    publisher: RawPublisher, sub: RawSubscriber, desks: list[str], timeout: float
) -> float:
    """Every desk says ``online`` once (untimed for the figure); the seconds the hub took."""
    topics = [f"{PREFIX}/{d}/status" for d in desks] + [f"{PREFIX}/{WARMUP_SENTINEL}/status"]
    start = time.monotonic()
    for first in range(0, len(topics), CHUNK):
        publisher.send(
            [
                publish_packet(t, b"online", publisher.packet_id())
                for t in topics[first : first + CHUNK]
            ]
        )
    wait_for(lambda: sub.count(f"{WARMUP_SENTINEL}/sitting"), timeout, "the hub to meet every desk")
    return time.monotonic() - start


def one_run(args: argparse.Namespace, desks: int, known: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-rush-"))
    try:
        with broker(work) as mqtt:
            base = floor(mqtt.host, mqtt.port, desks)
            result = rush(args, work, mqtt, desks, known)
            result["baseline_broker_floor"] = base
            goal = max(250.0, 2 * base["total_ms"])
            result["goal_p99_ms"] = round(goal, 2)
            result["p99_over_floor"] = round(
                result["alert_lateness"]["p99_ms"] / base["total_ms"], 2
            )
            result["meets_goal"] = result["alert_lateness"]["p99_ms"] <= goal
            return result
    except Exception:
        log = work / "hub.log"
        if log.exists():
            tail = "\n".join(log.read_text().splitlines()[-30:])
            sys.stderr.write(f"the hub's log ends:\n{tail}\n")
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def rush(
    args: argparse.Namespace, work: Path, mqtt: Any, desks: int, known: bool
) -> dict[str, Any]:
    extra = f'[limits]\nmax_desks_per_prefix = {desks + 10}\n[sitting]\nlimit = "{args.limit}s"\n'
    port = free_port() if args.viewers else None
    if args.viewers:
        # Lands in the [status] table hub_config writes just before it: room for every viewer.
        extra = f"max_connections = {args.viewers + 16}\n{extra}"
    config = hub_config(work, mqtt.url, PREFIX, status_port=port, extra=extra)
    names = [desk_name(i) for i in range(desks)]
    sub = RawSubscriber(
        mqtt.host,
        mqtt.port,
        "bench-rush-watcher",
        [f"{PREFIX}/+/cmd", f"{PREFIX}/_hub/status", f"{PREFIX}/{WARMUP_SENTINEL}/sitting"],
    )
    hub = HubProcess(config, work / "hub.log", profile=Path(args.profile) if args.profile else None)
    viewers = None
    try:
        wait_for(
            lambda: any(t.endswith("_hub/status") and p == b"online" for _, t, p in sub.received()),
            120,
            "the hub to come online",
        )
        publisher = RawPublisher(
            mqtt.host, mqtt.port, "bench-rush-publisher", window=4 * desks + 100
        )
        meet_s = introduce(publisher, sub, names, args.timeout) if known else None
        if port is not None:
            viewers = Viewers(port, args.viewers)
            wait_for(viewers.all_loaded, args.timeout, "every viewer's first load")
        time.sleep(args.settle)
        ts = round(time.time(), 3)
        packets = [
            publish_packet(
                f"{PREFIX}/{d}/occupancy",
                (
                    f'{{"seated":true,"seq":1,"boot":"rush","ts":{ts},"uptime_ms":1000,'
                    f'"value":1830.5}}'
                ).encode(),
                publisher.packet_id(),
            )
            for d in names
        ]
        cpu_before = cpu_seconds(hub.hub_pid())
        sent_from = time.time()
        for first in range(0, len(packets), CHUNK):
            publisher.send(packets[first : first + CHUNK])
        sent_s = time.time() - sent_from
        publisher.wait_acked()
        deadline = ts + args.limit

        def alerts() -> int:
            return sum(1 for _, t, _ in sub.received() if t.endswith("/cmd"))

        wait_for(lambda: alerts() >= desks, deadline - time.time() + args.timeout, "every alert")
        time.sleep(0.5)  # anything sent twice would arrive now
        cpu_s = cpu_seconds(hub.hub_pid()) - cpu_before
        publisher.close()
        viewed = viewers.totals()[1] if viewers is not None else []
    finally:
        if viewers is not None:
            viewers.close()
        hub.stop()
        sub.close()
    first_seen: dict[str, float] = {}
    duplicates = 0
    for at, topic, payload in sub.received():
        if not topic.endswith("/cmd") or json.loads(payload).get("action") != "alert":
            continue
        desk = topic.split("/")[1]
        if desk in first_seen:
            duplicates += 1
        else:
            first_seen[desk] = at
    lateness = [at - deadline for at in first_seen.values()]
    return {
        "desks": desks,
        "known_desks": known,
        "viewers": args.viewers,
        "viewer_bytes_during_rush": round(sum(viewed) / len(viewed)) if viewed else None,
        "limit_s": args.limit,
        "sit_downs_sent_in_ms": round(1000 * sent_s, 1),
        "hub_met_every_desk_s": round(meet_s, 3) if meet_s is not None else None,
        "alerts_received": len(first_seen),
        "duplicate_alerts": duplicates,
        "early_alerts": sum(1 for x in lateness if x < -0.001),
        "alert_lateness": summary(lateness),
        "hub_cpu_s_sit_to_last_alert": round(cpu_s, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--desks",
        type=int,
        nargs="+",
        default=[1000],
        help="desk counts, one run each (default 1000)",
    )
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument(
        "--known",
        dest="known",
        action="store_true",
        default=True,
        help="the hub met every desk before the rush (default)",
    )
    kind.add_argument(
        "--new",
        dest="known",
        action="store_false",
        help="the sit-down is each desk's first message",
    )
    parser.add_argument(
        "--limit",
        type=float,
        default=10.0,
        help="the sitting limit in seconds, the same for every desk (default 10)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=1.0,
        help="seconds between meeting the desks and the rush (default 1)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=120.0,
        help="seconds to wait for the alerts after the deadline",
    )
    parser.add_argument(
        "--viewers",
        type=int,
        default=0,
        help="live-page viewers connected through the rush (default 0: no status page)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the hub under py-spy and write a speedscope profile (one size)",
    )
    parser.add_argument("--out", help="result file (default bench/results/rush.json)")
    args = parser.parse_args()
    runs = [one_run(args, desks, args.known) for desks in args.desks]
    write_result("rush", {"runs": runs}, args.out)
    ok = all(
        r["alerts_received"] == r["desks"] and not r["early_alerts"] and not r["duplicate_alerts"]
        for r in runs
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
