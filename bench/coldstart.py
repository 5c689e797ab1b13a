"""Cold start: from ``sitless hub`` starting to its first alert on time, many desks checkpointed.

First a hub meets ``--desks`` seated desks (one occupancy message each) and
is stopped, leaving them in its checkpoint and their retained views on the
broker. Most desks sat down just now, so their deadlines are half an hour
away; a ladder of ``--ladder`` desks sat down earlier, so that their alerts
fall due one every ``--step`` ms from the moment the second hub is started.
That second ``sitless hub`` process starts on the same state folder; the
cold-start time is from its start to the first ladder deadline from which
every alert arrived on time (at most ``--on-time-ms`` late); beside it, the
first deadline whose alert arrived on time. Alerts that fell
due while the hub was still loading arrive late, and are counted. The
baseline in the same run is an empty hub's start: from the process start to
its ``online`` status, with no checkpoint.

    .venv/bin/python bench/coldstart.py --desks 100000
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
    desk_name,
    hub_config,
    percentile,
    publish_packet,
    wait_for,
    write_result,
)

PREFIX = "bench"
SENTINEL = "zsentinel"
CHUNK = 2000
LIMIT_S = 1800.0  # the default limit, 30 minutes


def occupancy(ts: float) -> bytes:
    return (
        f'{{"seated":true,"seq":1,"boot":"cold","ts":{ts:.3f},"uptime_ms":1000,"value":1830.5}}'
    ).encode()


def hub_online_after(sub: RawSubscriber, since: float) -> float | None:
    for at, topic, payload in sub.received():
        if at >= since and topic.endswith("_hub/status") and payload == b"online":
            return at
    return None


def empty_start(work: Path, mqtt: Any, sub: RawSubscriber) -> float:
    """The baseline: an empty hub's start to its ``online``, in seconds."""
    state = work / "empty"
    state.mkdir()
    config = hub_config(state, mqtt.url, "empty")
    started = time.time()
    hub = HubProcess(config, state / "hub.log")
    try:
        return wait_for(lambda: hub_online_after(sub, started), 120, "the empty hub") - started
    finally:
        hub.stop()


def measure(args: argparse.Namespace, work: Path, mqtt: Any) -> dict[str, Any]:  # noqa: PLR0915
    extra = f"[limits]\nmax_desks_per_prefix = {args.desks + args.ladder + 10}\n"
    if args.hub_log:
        extra += '[log]\nlevel = "info"\njson = true\n'  # timestamped lines for the kept log
    config = hub_config(work, mqtt.url, PREFIX, extra=extra)
    sub = RawSubscriber(
        mqtt.host,
        mqtt.port,
        "bench-cold-watcher",
        [f"{PREFIX}/+/cmd", "+/_hub/status", f"{PREFIX}/{SENTINEL}/sitting"],
    )
    try:
        baseline_s = empty_start(work, mqtt, sub)
        fill_from = time.time()
        start_at = fill_from + args.lead
        step = args.step / 1000
        ladder = {f"l{k:05d}": start_at + k * step for k in range(args.ladder)}
        first = HubProcess(config, work / "hub-first.log")
        try:
            wait_for(lambda: hub_online_after(sub, fill_from), 120, "the first hub")
            publisher = RawPublisher(mqtt.host, mqtt.port, "bench-cold-publisher", window=50_000)
            now = round(time.time(), 3)
            items = [
                (f"{PREFIX}/{desk_name(i)}/occupancy", occupancy(now)) for i in range(args.desks)
            ]
            items += [
                (f"{PREFIX}/{desk}/occupancy", occupancy(due - LIMIT_S))
                for desk, due in ladder.items()
            ]
            items.append((f"{PREFIX}/{SENTINEL}/occupancy", occupancy(now)))
            for pos in range(0, len(items), CHUNK):
                publisher.send(
                    [
                        publish_packet(t, p, publisher.packet_id())
                        for t, p in items[pos : pos + CHUNK]
                    ]
                )
            publisher.wait_acked()
            publisher.close()
            wait_for(
                lambda: sub.count(f"{SENTINEL}/sitting"), args.timeout, "the first hub's desks"
            )
        finally:
            first.stop()
        filled_s = time.time() - fill_from
        if time.time() > start_at - 1:
            msg = f"filling the checkpoint took {filled_s:.1f} s; give a --lead above it"
            raise RuntimeError(msg)
        checkpoint_bytes = sum(f.stat().st_size for f in (work / "hub-state").glob("*.sqlite*"))
        time.sleep(start_at - time.time())
        started = time.time()
        second = HubProcess(
            config, work / "hub.log", profile=Path(args.profile) if args.profile else None
        )
        try:
            last_due = max(ladder.values())
            wait_for(
                lambda: (
                    sum(1 for _, t, _ in sub.received() if t[len(PREFIX) + 1 :].startswith("l"))
                    >= args.ladder
                ),
                last_due - time.time() + args.timeout,
                "every ladder alert",
            )
            online_s = (hub_online_after(sub, started) or float("nan")) - started
        finally:
            second.stop()
    finally:
        sub.close()
    arrived: dict[str, float] = {}
    for at, topic, payload in sub.received():
        desk = topic.split("/")[1]
        if (
            topic.endswith("/cmd")
            and desk in ladder
            and json.loads(payload).get("action") == "alert"
        ):
            arrived.setdefault(desk, at)
    late = {d: arrived[d] - ladder[d] for d in ladder if d in arrived}
    limit = args.on_time_ms / 1000
    on_time_from = None
    for desk in sorted(ladder, key=ladder.__getitem__, reverse=True):
        if late.get(desk, float("inf")) > args.on_time_ms / 1000:
            break
        on_time_from = desk
    cold_s = ladder[on_time_from] - started if on_time_from is not None else None
    in_time = [d for d in sorted(ladder, key=ladder.__getitem__) if 0 <= late.get(d, -1) <= limit]
    first_s = ladder[in_time[0]] - started if in_time else None
    after = [late[d] for d in ladder if first_s is not None and ladder[d] - started > first_s]
    ordered = sorted(late.values())
    late_due = [
        round(ladder[d] - started, 2)
        for d in sorted(ladder, key=ladder.__getitem__)
        if late.get(d, float("inf")) > args.on_time_ms / 1000
    ]
    return {
        "desks": args.desks + args.ladder + 1,
        "checkpoint_bytes": checkpoint_bytes,
        "fill_s": round(filled_s, 2),
        "on_time_ms": args.on_time_ms,
        # The strict figure: from here on, every alert on time.
        "cold_start_s": round(cold_s, 3) if cold_s is not None else None,
        # The first alert on time (the words), and how many were late after it.
        "first_on_time_s": round(first_s, 3) if first_s is not None else None,
        "late_after_first_on_time": sum(1 for x in after if x > limit),
        "lateness_after_first_on_time_p99_ms": (
            round(1000 * percentile(sorted(after), 99), 1) if after else None
        ),
        "hub_online_s": round(online_s, 3),
        "ladder_alerts_received": len(late),
        "ladder_alerts_late": sum(1 for x in late.values() if x > args.on_time_ms / 1000),
        "ladder_alerts_early": sum(1 for x in late.values() if x < -0.001),
        # When the late alerts were due (seconds after the start): the first and last five.
        "late_due_s": {"first": late_due[:5], "last": late_due[-5:]},
        "worst_lateness_ms": round(1000 * ordered[-1], 1) if ordered else None,
        "on_time_lateness_p50_ms": (
            round(1000 * percentile(sorted(v for v in ordered if v >= 0), 50), 2)
            if ordered
            else None
        ),
        "baseline_empty_hub_online_s": round(baseline_s, 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--desks", type=int, default=10_000, help="desks in the checkpoint (default 10000)"
    )
    parser.add_argument(
        "--ladder",
        type=int,
        default=1000,
        help="desks falling due one after another after the start (default 1000: 20 s)",
    )
    parser.add_argument(
        "--step",
        type=float,
        default=20.0,
        help="milliseconds between the ladder's deadlines (default 20)",
    )
    parser.add_argument(
        "--on-time-ms",
        type=float,
        default=100.0,
        help="lateness still counted as on time, in ms (default 100)",
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=40.0,
        help="seconds from filling the checkpoint to the second start (default 40)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for each step"
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="run the second hub under py-spy and write a speedscope profile",
    )
    parser.add_argument(
        "--hub-log", metavar="FILE", help="keep a copy of the second hub's log there"
    )
    parser.add_argument("--out", help="result file (default bench/results/coldstart.json)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-cold-"))
    try:
        with broker(work) as mqtt:
            result = measure(args, work, mqtt)
    except Exception:
        for log in sorted(work.glob("**/hub*.log")):
            tail = "\n".join(log.read_text().splitlines()[-20:])
            sys.stderr.write(f"{log.name} ends:\n{tail}\n")
        raise
    finally:
        if args.hub_log and (work / "hub.log").exists():
            shutil.copy(work / "hub.log", args.hub_log)
        shutil.rmtree(work, ignore_errors=True)
    write_result("coldstart", result, args.out)
    return 0 if result["cold_start_s"] is not None and not result["ladder_alerts_early"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
