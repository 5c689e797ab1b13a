"""The live status page with many viewers: bytes per viewer and hub CPU while desks are quiet.

``--desks`` desks sit down once (one bout each, the clocks running, far from
any limit) and then say nothing more, as a quiet office does between
events. Then, for each count in ``--viewers``, that many browsers' worth of
``/events`` streams are opened at once on raw sockets; each first receives
the page's snapshot (its size is the first load), and then, for
``--window`` seconds, whatever the hub sends while nothing changes. The
baseline in the same run is the same hub with the page enabled and no viewer.

Reported per viewer count: the first load in bytes, bytes per viewer per
second after it, and the hub's CPU in that window as a share of one core
(from /proc). The goal: with 10 000 desks and 100 viewers, under 10 % of a
core while the desks are quiet.

    .venv/bin/python bench/page.py --desks 10000 --viewers 1 10 100
"""

from __future__ import annotations

import argparse
import json
import selectors
import shutil
import socket
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    HubProcess,
    RawPublisher,
    RawSubscriber,
    broker,
    cpu_seconds,
    desk_name,
    hub_config,
    publish_packet,
    wait_for,
    write_result,
)
from tests.support.servers import LOOPBACK, free_port

PREFIX = "bench"
SENTINEL = "zsentinel"
CHUNK = 2000
SNAPSHOT_END = b"\n\n"


class Viewers:
    """``count`` event streams read by one thread; bytes counted per stream after its snapshot."""

    def __init__(self, port: int, count: int) -> None:
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self.first_load: list[int] = [0] * count
        self.loaded: list[bool] = [False] * count
        self.after: list[int] = [0] * count
        self._head: list[bytes] = [b""] * count
        self._socks: list[socket.socket] = []
        request = (
            f"GET /events HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        )
        for i in range(count):
            sock = socket.create_connection((LOOPBACK, port), timeout=30)
            sock.sendall(request.encode())
            sock.setblocking(False)
            self._sel.register(sock, selectors.EVENT_READ, i)
            self._socks.append(sock)
        self._closed = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-viewers")
        self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            for key, _ in self._sel.select(0.2):
                i = key.data
                try:
                    data = key.fileobj.recv(1 << 20)  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    self._sel.unregister(key.fileobj)
                    continue
                with self._lock:
                    self._take(i, data)

    def _take(self, i: int, data: bytes) -> None:
        if self.loaded[i]:
            self.after[i] += len(data)
            return
        head = self._head[i] + data
        # The first load is the HTTP head and the snapshot event, up to its blank line.
        start = head.find(b"event: snapshot")
        end = head.find(SNAPSHOT_END, start) if start >= 0 else -1
        if end < 0:
            self._head[i] = head
            return
        self.first_load[i] = end + len(SNAPSHOT_END)
        self.after[i] = len(head) - self.first_load[i]
        self.loaded[i] = True
        self._head[i] = b""

    def all_loaded(self) -> bool:
        with self._lock:
            return all(self.loaded)

    def reset(self) -> None:
        with self._lock:
            self.after = [0] * len(self.after)

    def totals(self) -> tuple[list[int], list[int]]:
        with self._lock:
            return list(self.first_load), list(self.after)

    def close(self) -> None:
        self._closed = True
        self._thread.join(2)
        for sock in self._socks:
            sock.close()
        self._sel.close()


def seat_everyone(mqtt: Any, desks: int, timeout: float) -> None:
    """Every desk sits down once; returns when the hub has taken them all."""
    sub = RawSubscriber(
        mqtt.host, mqtt.port, "bench-page-watcher", [f"{PREFIX}/{SENTINEL}/sitting"]
    )
    publisher = RawPublisher(mqtt.host, mqtt.port, "bench-page-publisher", window=2 * desks + 100)
    try:
        ts = round(time.time(), 3)
        body = (
            f'{{"seated":true,"seq":1,"boot":"page","ts":{ts},"uptime_ms":1000,"value":1830.5}}'
        ).encode()
        topics = [f"{PREFIX}/{desk_name(i)}/occupancy" for i in range(desks)]
        topics.append(f"{PREFIX}/{SENTINEL}/occupancy")
        for first in range(0, len(topics), CHUNK):
            publisher.send(
                [
                    publish_packet(t, body, publisher.packet_id())
                    for t in topics[first : first + CHUNK]
                ]
            )
        publisher.wait_acked()
        wait_for(lambda: sub.count() > 0, timeout, "the hub to take every desk")
    finally:
        publisher.close()
        sub.close()


def page_desks(port: int) -> int:
    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/api/desks", timeout=30) as resp:
        return len(json.loads(resp.read())["desks"])


def measure(args: argparse.Namespace, work: Path, mqtt: Any) -> dict[str, Any]:
    port = free_port()
    # Every viewer holds a connection; the page's cap (64 by default) must not be the limit.
    # The first line lands in the [status] table that hub_config writes just before it.
    connections = max(64, max(args.viewers) + 16)
    extra = f"max_connections = {connections}\n[limits]\nmax_desks_per_prefix = {args.desks + 10}\n"
    config = hub_config(work, mqtt.url, PREFIX, status_port=port, extra=extra)
    hub = HubProcess(config, work / "hub.log", profile=Path(args.profile) if args.profile else None)
    try:
        wait_for(lambda: _up(port), 120, "the status page")
        seat_everyone(mqtt, args.desks, args.timeout)
        wait_for(lambda: page_desks(port) >= args.desks + 1, args.timeout, "every desk on the page")
        time.sleep(args.settle)
        pid = hub.hub_pid()
        runs = [window(args, port, pid, viewers) for viewers in [0, *args.viewers]]
    finally:
        hub.stop()
    return {"desks": args.desks, "window_s": args.window, "runs": runs}


def _up(port: int) -> bool:
    try:
        page_desks(port)
    except OSError:
        return False
    return True


def window(args: argparse.Namespace, port: int, pid: int, count: int) -> dict[str, Any]:
    """``count`` viewers for one window; with 0, the hub alone (the baseline)."""
    viewers = Viewers(port, count) if count else None
    try:
        load_s = 0.0
        if viewers is not None:
            started = time.monotonic()
            wait_for(viewers.all_loaded, args.timeout, "every viewer's first load")
            load_s = time.monotonic() - started
            time.sleep(1.0)  # let the streams' start settle before the window
            viewers.reset()
        cpu0, t0 = cpu_seconds(pid), time.monotonic()
        time.sleep(args.window)
        cpu1, t1 = cpu_seconds(pid), time.monotonic()
        first, after = viewers.totals() if viewers is not None else ([], [])
    finally:
        if viewers is not None:
            viewers.close()
    span = t1 - t0
    return {
        "viewers": count,
        "first_load_bytes": round(sum(first) / count) if count else None,
        "all_first_loads_s": round(load_s, 3) if count else None,
        "bytes_per_viewer_per_s": round(sum(after) / count / span, 1) if count else None,
        "hub_cpu_share_of_a_core": round((cpu1 - cpu0) / span, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--desks", type=int, default=1000, help="quiet desks (default 1000)")
    parser.add_argument(
        "--viewers",
        type=int,
        nargs="+",
        default=[1, 10, 100],
        help="viewer counts, one window each (default 1 10 100)",
    )
    parser.add_argument(
        "--window", type=float, default=10.0, help="seconds measured per viewer count (default 10)"
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=2.0,
        help="seconds between the last sit-down and the first window (default 2)",
    )
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for each step"
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the hub under py-spy and write a speedscope profile"
    )
    parser.add_argument("--out", help="result file (default bench/results/page.json)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-page-"))
    try:
        with broker(work) as mqtt:
            result = measure(args, work, mqtt)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base = result["runs"][0]["hub_cpu_share_of_a_core"]
    for run in result["runs"][1:]:
        run["hub_cpu_over_no_viewer"] = round(run["hub_cpu_share_of_a_core"] - base, 4)
    write_result("page", result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
