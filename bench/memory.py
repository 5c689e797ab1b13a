"""Figure 3: the hub's memory per known desk.

A fresh ``sitless hub`` process per size: its resident set size (RSS) once it
is up with no desks, then after every one of ``--desks`` desks has sat down
and sent telemetry (so each has a state machine, a deadline, a dedupe entry
and a checkpoint row). Per desk = the growth divided by the desk count. The
baseline in the same run is the empty hub itself. History goes to the local
spool (no server) so InfluxDB's client is not part of the figure. Messages
are paced (``--rate``) below the hub's ingest rate so its inbox stays short:
a backlog of queued messages would leave allocator high-water in the RSS
that has nothing to do with the desks.

    .venv/bin/python bench/memory.py --desks 1000 100000
"""

from __future__ import annotations

import argparse
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
    broker,
    desk_name,
    hub_config,
    publish_packet,
    rss_kb,
    write_result,
)
from tests.support.mqttprobe import MqttProbe

PREFIX = "bench"
SENTINEL = "zsentinel"
CHUNK = 1000
SETTLE_S = 3.0


def messages(desks: int, ts: float) -> list[tuple[str, bytes]]:
    out = []
    for i in range(desks):
        desk = desk_name(i)
        out.append(
            (
                f"{PREFIX}/{desk}/occupancy",
                f'{{"seated":true,"seq":1,"boot":"bench","ts":{ts},"uptime_ms":1000,'
                f'"value":1830.5}}'.encode(),
            )
        )
        out.append(
            (
                f"{PREFIX}/{desk}/telemetry",
                f'{{"ts":{ts},"uptime_ms":1000,"value":210.0,"baseline":205.5,"rssi":-61,'
                f'"heap_free":81234,"fw":"0.1.0","reconnects":0}}'.encode(),
            )
        )
    out.append(
        (
            f"{PREFIX}/{SENTINEL}/occupancy",
            f'{{"seated":true,"seq":1,"boot":"bench","ts":{ts},"uptime_ms":1,'
            f'"value":1.0}}'.encode(),
        )
    )
    return out


def one(desks: int, timeout: float, rate: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-memory-"))
    try:
        with broker(work) as mqtt:
            extra = f"[limits]\nmax_desks_per_prefix = {desks + 10}\n"
            config = hub_config(work, mqtt.url, PREFIX, extra=extra)
            probe = MqttProbe(mqtt.host, mqtt.port)
            probe.subscribe(f"{PREFIX}/{SENTINEL}/sitting")
            probe.subscribe(f"{PREFIX}/_hub/status")
            hub = HubProcess(config, work / "hub.log")
            try:
                probe.wait_topic(f"{PREFIX}/_hub/status", 60, where=lambda p: p == "online")
                time.sleep(SETTLE_S)
                empty = rss_kb(hub.pid)
                publisher = RawPublisher(mqtt.host, mqtt.port, "bench-memory-publisher")
                batch = messages(desks, round(time.time(), 3))
                start = time.monotonic()
                for n, first in enumerate(range(0, len(batch), CHUNK)):
                    delay = start + n * CHUNK / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    publisher.send(
                        [
                            publish_packet(topic, body, publisher.packet_id())
                            for topic, body in batch[first : first + CHUNK]
                        ]
                    )
                publisher.wait_acked()
                probe.wait_topic(f"{PREFIX}/{SENTINEL}/sitting", timeout)
                time.sleep(SETTLE_S)
                full = rss_kb(hub.pid)
                publisher.close()
            finally:
                probe.close()
                hub.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "desks": desks,
        "publish_rate": rate,
        "rss_empty_kb": empty,
        "rss_with_desks_kb": full,
        "bytes_per_desk": round((full - empty) * 1024 / desks),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--desks",
        type=int,
        nargs="+",
        default=[1000, 100_000],
        help="desk counts, one fresh hub each (default 1000 100000)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the hub to take every desk",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=3000.0,
        help="messages/s to publish, below the hub's ingest (default 3000)",
    )
    parser.add_argument("--out", help="result file (default bench/results/memory.json)")
    args = parser.parse_args()
    runs = [one(desks, args.timeout, args.rate) for desks in args.desks]
    write_result("memory", {"runs": runs}, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
