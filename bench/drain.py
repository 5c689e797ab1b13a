"""Figure 4: draining a backlog from the spool once InfluxDB is back.

The spool is filled with ``--points`` history points (occupancy and device
health of 1 000 desks, as the hub makes them) while no server is running,
which is what an outage leaves behind. Then a private influxd starts and the
hub's own writer thread drains the spool into it. Reported: points/s drained,
spool bytes per point, and, as the baseline in the same run, how fast the
same influxd takes the same lines POSTed straight from memory in batches of
the same size (no spool, no deletes).

    .venv/bin/python bench/drain.py --points 1000000
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import influx, influx_count, wait_for, write_result
from hub.config import HistoryConfig
from hub.history.points import DEVICE_HEALTH, OCCUPANCY, HistoryPoint
from hub.history.sinks import V1Sink
from hub.history.spool import Spool
from hub.history.writer import Writer

DESKS = 1000
FILL_BATCH = 10_000
MAX_SPOOL = 8 * 1024**3


def point(i: int, base_ms: int) -> HistoryPoint:
    """The i-th backlog point: alternating occupancy and device health, one desk after another."""
    desk = f"d{i % DESKS:06d}"
    tags = (("site", "hq"), ("floor", "3"), ("zone", "north"), ("desk", desk))
    ts_ms = base_ms + (i // DESKS) * 1000
    if (i // DESKS) % 2 == 0:
        return HistoryPoint(
            OCCUPANCY, tags, (("seated", (i // (2 * DESKS)) % 2), ("seq", i)), ts_ms
        )
    return HistoryPoint(
        DEVICE_HEALTH,
        (*tags, ("fw", "0.1.0")),
        (
            ("rssi", -61),
            ("heap_free", 81234),
            ("uptime_s", i / 10),
            ("value", 210.0),
            ("baseline", 205.5),
            ("reconnects", 0),
        ),
        ts_ms,
    )


def fill(spool: Spool, total: int) -> tuple[float, int, int]:
    """Spool the backlog; returns seconds taken and the counts per measurement."""
    base_ms = int(time.time() * 1000) - total * 1000 // DESKS - 60_000
    occupancy = 0
    start = time.monotonic()
    for first in range(0, total, FILL_BATCH):
        rows = [("main", point(i, base_ms)) for i in range(first, min(total, first + FILL_BATCH))]
        occupancy += sum(1 for _, p in rows if p.measurement == OCCUPANCY)
        spool.add(rows, time.time())
    return time.monotonic() - start, occupancy, total - occupancy


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-drain-"))
    try:
        path = work / "spool.sqlite3"
        spool = Spool(path, MAX_SPOOL)
        fill_s, occupancy, health = fill(spool, args.points)
        size = spool.size()
        lines = [line for _, line in spool.batch("main", min(args.points, args.baseline_points))]
        with influx(work) as db:
            cfg = HistoryConfig(
                api="v1", url=db.url, database="sitless", batch_size=args.batch_size
            )
            writer = Writer(path, MAX_SPOOL, V1Sink(cfg), args.batch_size)
            start = time.monotonic()
            writer.start()
            wait_for(
                lambda: writer.written >= args.points,
                args.timeout,
                "the spool to drain",
                every=0.05,
            )
            drain_s = time.monotonic() - start
            writer.stop(timeout=60)
            left = spool.size().rows
            stored = (
                influx_count(db, OCCUPANCY, "seq"),
                influx_count(db, DEVICE_HEALTH, "heap_free"),
            )
            db.create_database("baseline")
            http = urllib3.PoolManager()
            start = time.monotonic()
            for first in range(0, len(lines), args.batch_size):
                resp = http.request(
                    "POST",
                    f"{db.url}/write?db=baseline&precision=ms",
                    body="\n".join(lines[first : first + args.batch_size]).encode(),
                )
                if resp.status != 204:
                    msg = f"baseline write failed: HTTP {resp.status}"
                    raise RuntimeError(msg)
            baseline_s = time.monotonic() - start
        spool.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "points": args.points,
        "batch_size": args.batch_size,
        "fill_s": round(fill_s, 1),
        "fill_points_per_s": round(args.points / fill_s),
        "spool_bytes": size.bytes,
        "spool_bytes_per_point": round(size.bytes / args.points, 1),
        "drain_s": round(drain_s, 2),
        "drain_points_per_s": round(args.points / drain_s),
        "left_in_spool": left,
        "influx_points": {"occupancy": stored[0], "device_health": stored[1]},
        "expected_points": {"occupancy": occupancy, "device_health": health},
        "baseline_points": len(lines),
        "baseline_direct_post_points_per_s": round(len(lines) / baseline_s),
        "drain_to_baseline": round((args.points / drain_s) / (len(lines) / baseline_s), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--points", type=int, default=1_000_000, help="points in the backlog (default 1000000)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=5000,
        help="points per write, as history.batch_size (default 5000)",
    )
    parser.add_argument(
        "--baseline-points",
        type=int,
        default=200_000,
        help="points POSTed directly for the baseline (default 200000)",
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait for the drain"
    )
    parser.add_argument("--out", help="result file (default bench/results/drain.json)")
    args = parser.parse_args()
    result = run(args)
    write_result("drain", result, args.out)
    ok = result["left_in_spool"] == 0 and result["influx_points"] == result["expected_points"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
