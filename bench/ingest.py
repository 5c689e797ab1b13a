"""Figure 1: ingest throughput of one hub, beside mosquitto_sub receiving the same publisher.

A raw publisher sends ``--messages`` QoS 1 messages from ``--desks`` desks
(occupancy transitions and telemetry, alternating per desk) through a private
mosquitto. Two subscribers take them in the same run: the hub (a real
``sitless hub`` process, writing history to a private influxd) and the
broker's own C client ``mosquitto_sub`` writing to /dev/null. The last
message is a sentinel desk sitting down; the hub has processed everything
when its ``sitting`` view comes back (one connection, one queue, in order).
Zero loss is checked twice: the hub reported no dropped message (its /metrics
counters with ``--status-page``, else its log, where every drop is reported)
and the point counts in InfluxDB match once the spool has drained. The status
page is off by default: it snapshots every desk twice a second, which at
100 000 desks is a cost of its own (docs/performance.md).

With ``--hubs 2`` the same run is made with two hub processes, one per topic
prefix (docs/scaling.md), each with its own state and half the desks and
messages; the publisher interleaves their traffic and mosquitto_sub takes
all of it. The hub figure is then every message over the time until both
hubs are through; with ``--pin`` each hub has a CPU of its own and the rest
shares them all.

    .venv/bin/python bench/ingest.py --desks 1000
    .venv/bin/python bench/ingest.py --desks 1000 10000 100000
    .venv/bin/python bench/ingest.py --desks 10000 --hubs 2
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    HubProcess,
    RawPublisher,
    broker,
    cpu_seconds,
    desk_name,
    hub_config,
    influx,
    influx_count,
    metrics,
    publish_packet,
    wait_for,
    write_result,
)
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import free_port

PREFIX = "bench"
SENTINEL = "zsentinel"
WARMUP_SENTINEL = "zwarmup"
CHUNK = 500
SUB_ID = "bench-mosquitto-sub"


def messages(
    desks: int, total: int, t0: float, prefix: str = PREFIX, first_desk: int = 0
) -> tuple[list[tuple[str, bytes]], int, int]:
    """Every (topic, payload) to send, in order, ending with the sentinel; and the counts.

    The desks are numbered from ``first_desk``, so two hubs' desks are different
    series in InfluxDB.
    """
    out: list[tuple[str, bytes]] = []
    occupancy = telemetry = 0
    for i in range(total - 1):
        desk, rnd = desk_name(first_desk + i % desks), i // desks
        ts = round(t0 + rnd * 0.001, 3)  # unique per desk, close to now
        if rnd % 2 == 0:
            seated = "true" if (rnd // 2) % 2 == 0 else "false"
            body = (
                f'{{"seated":{seated},"seq":{rnd // 2 + 1},"boot":"bench","ts":{ts},'
                f'"uptime_ms":{rnd * 1000},"value":1830.5}}'
            )
            out.append((f"{prefix}/{desk}/occupancy", body.encode()))
            occupancy += 1
        else:
            body = (
                f'{{"ts":{ts},"uptime_ms":{rnd * 1000},"value":210.0,"baseline":205.5,'
                f'"rssi":-61,"heap_free":81234,"fw":"0.1.0","reconnects":0}}'
            )
            out.append((f"{prefix}/{desk}/telemetry", body.encode()))
            telemetry += 1
    body = f'{{"seated":true,"seq":1,"boot":"bench","ts":{t0},"uptime_ms":0,"value":1830.5}}'
    out.append((f"{prefix}/{SENTINEL}/occupancy", body.encode()))
    return out, occupancy + 1, telemetry


def mosquitto_sub_session(mqtt, prefixes: list[str]) -> list[str]:
    """The baseline subscriber's command, its persistent session already made.

    The session comes first so that the broker queues for mosquitto_sub from
    the first message on, as it does for the hub.
    """
    topics = [f for p in prefixes for f in ("-t", f"{p}/+/occupancy", "-t", f"{p}/+/telemetry")]
    command = [
        "mosquitto_sub",
        "-h",
        mqtt.host,
        "-p",
        str(mqtt.port),
        "-q",
        "1",
        "-c",
        "-i",
        SUB_ID,
        *topics,
    ]
    subprocess.run([*command, "-E"], check=True, timeout=30)
    return command


def pin_apart(hub_pids: list[int], others: list[int]) -> None:
    """A CPU for each hub alone, the other CPUs for everything else: "on one core", literally.

    Everything else is the broker, influxd, mosquitto_sub and this publisher.
    With a single CPU there is nothing to separate; with as many hubs as CPUs,
    each hub keeps its own CPU and everything else may run on any of them.
    """
    count = os.cpu_count() or 1
    if count < 2:  # one for the hub, at least one for the rest
        return
    for n, pid in enumerate(hub_pids):
        pin(pid, {n % count})
    rest = set(range(len(hub_pids), count)) or set(range(count))
    for pid in others:
        pin(pid, rest)


def pin(pid: int, cpus: set[int]) -> None:
    """Keep every thread of a process on these CPUs (affinity is per thread on Linux)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):  # a thread that just ended
            os.sched_setaffinity(int(task.name), cpus)


def introduce(
    args: argparse.Namespace, prefixes: list[str], publisher: RawPublisher, probe: MqttProbe
) -> float:
    """Every desk says it is online once, before the timed pass; the seconds the hubs took.

    The figure is the sustained rate of desks the hub already knows, as a
    campus sends it: without this, at 100 000 desks every timed message
    would be its desk's first, and the run would time desk creation (which
    is reported separately, as the first-contact rate).
    """
    share = args.desks // len(prefixes)
    topics = [
        f"{prefix}/{desk_name(n * share + i)}/status"
        for n, prefix in enumerate(prefixes)
        for i in range(share)
    ]
    topics += [f"{prefix}/{WARMUP_SENTINEL}/status" for prefix in prefixes]
    packets = [publish_packet(topic, b"online", publisher.packet_id()) for topic in topics]
    start = time.monotonic()
    for first in range(0, len(packets), CHUNK):
        publisher.send(packets[first : first + CHUNK])
    publisher.wait_acked()
    for prefix in prefixes:
        probe.wait_topic(f"{prefix}/{WARMUP_SENTINEL}/sitting", args.timeout)
    return time.monotonic() - start


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-ingest-"))
    try:
        with broker(work) as mqtt, influx(work) as db:
            return measure(args, work, mqtt, db)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def traffic(
    args: argparse.Namespace, prefixes: list[str], publisher: RawPublisher, t0: float
) -> tuple[list[bytes], int, int]:
    """The timed packets, each hub's share interleaved chunk by chunk; and the point counts."""
    share, per_hub = args.desks // len(prefixes), args.messages // len(prefixes)
    streams, occupancy, telemetry = [], 0, 0
    for n, prefix in enumerate(prefixes):
        # Each hub's sentinel desk has the same id: its own millisecond keeps it its own point.
        batch, occ, tel = messages(share, per_hub, t0 + n * 0.001, prefix, n * share)
        streams.append(
            [publish_packet(topic, body, publisher.packet_id()) for topic, body in batch]
        )
        occupancy, telemetry = occupancy + occ, telemetry + tel
    packets = [
        packet
        for first in range(0, per_hub, CHUNK)
        for stream in streams
        for packet in stream[first : first + CHUNK]
    ]
    return packets, occupancy, telemetry


def start_hubs(
    args: argparse.Namespace,
    work: Path,
    urls: tuple[str, str],
    prefixes: list[str],
    status_port: int | None,
) -> list[HubProcess]:
    """One ``sitless hub`` process per prefix, each with its own state folder and log.

    ``urls`` are the broker's and influxd's.
    """
    broker_url, influx_url = urls
    # Room for the whole burst plus the hub's own views coming back (one per occupancy):
    # the figure is the hub's processing rate, not the size of its inbox.
    extra = (
        f"[limits]\nmax_desks_per_prefix = {args.desks + 10}\n"
        f"queue_size = {2 * args.messages + 1000}\n"
    )
    hubs = []
    for n, prefix in enumerate(prefixes):
        home = work / f"hub{n}"
        config = hub_config(
            home, broker_url, prefix, influx_url=influx_url, status_port=status_port, extra=extra
        )
        profile = Path(args.profile) if args.profile and n == 0 else None
        hubs.append(HubProcess(config, home / "hub.log", profile=profile))
    return hubs


def measure(args: argparse.Namespace, work: Path, mqtt, db) -> dict[str, object]:
    prefixes = [PREFIX] if args.hubs == 1 else [f"{PREFIX}{n}" for n in range(args.hubs)]
    status_port = free_port() if args.status_page and args.hubs == 1 else None
    sub_base = mosquitto_sub_session(mqtt, prefixes)
    probe = MqttProbe(mqtt.host, mqtt.port)
    for prefix in prefixes:
        probe.subscribe(f"{prefix}/{SENTINEL}/sitting")
        probe.subscribe(f"{prefix}/{WARMUP_SENTINEL}/sitting")
        probe.subscribe(f"{prefix}/_hub/status")
    hubs = start_hubs(args, work, (mqtt.url, db.url), prefixes, status_port)
    try:
        for prefix in prefixes:
            probe.wait_topic(f"{prefix}/_hub/status", 60, where=lambda p: p == "online")
        publisher = RawPublisher(mqtt.host, mqtt.port, "bench-publisher")
        first_contact_s = introduce(args, prefixes, publisher, probe) if args.warmup else None
        packets, occupancy, telemetry = traffic(args, prefixes, publisher, time.time())
        hub_pids = [hub.hub_pid() for hub in hubs]
        cpu_before = sum(cpu_seconds(pid) for pid in hub_pids)
        sub = subprocess.Popen(
            [*sub_base, "-C", str(len(packets))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if args.pin:
            pin_apart(hub_pids, [mqtt.proc.pid, db.proc.pid, sub.pid, os.getpid()])
        start = time.monotonic()
        step = CHUNK / args.rate if args.rate else 0.0
        for n, first in enumerate(range(0, len(packets), CHUNK)):
            if step:
                delay = start + n * step - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            publisher.send(packets[first : first + CHUNK])
        publisher.wait_acked()
        published_s = time.monotonic() - start
        sub.wait(timeout=args.timeout)
        sub_s = time.monotonic() - start
        for prefix in prefixes:
            probe.wait_topic(f"{prefix}/{SENTINEL}/sitting", args.timeout)
        hub_s = time.monotonic() - start
        hub_cpu = sum(cpu_seconds(pid) for pid in hub_pids) - cpu_before
        counts = metrics(status_port) if status_port else {}
        wait_for(
            lambda: (
                influx_count(db, "occupancy", "seq") >= occupancy
                and influx_count(db, "device_health", "heap_free") >= telemetry
            ),
            args.timeout,
            "every point in InfluxDB",
            every=1.0,
        )
        influx_s = time.monotonic() - start
        stored = (
            influx_count(db, "occupancy", "seq"),
            influx_count(db, "device_health", "heap_free"),
        )
        publisher.close()
    finally:
        probe.close()
        for hub in hubs:
            hub.stop()
    drop_lines = [
        line
        for n in range(len(prefixes))
        for line in (work / f"hub{n}" / "hub.log").read_text(errors="replace").splitlines()
        if "dropped" in line
    ]
    dropped = (
        sum(v for k, v in counts.items() if k.startswith("sitless_messages_dropped_total"))
        if status_port
        else len(drop_lines)
    )
    total = len(packets)
    hub_rate = total / hub_s
    sub_rate = total / sub_s
    return {
        "desks": args.desks,
        "hubs": len(prefixes),
        "messages": total,
        "publish_rate_limit": args.rate or None,
        "publish_msgs_per_s": round(total / published_s),
        "mosquitto_sub_msgs_per_s": round(sub_rate),
        "hub_msgs_per_s": round(hub_rate),
        "hub_to_mosquitto_sub": round(hub_rate / sub_rate, 3),
        "hub_cpu_s": round(hub_cpu, 2),
        "hub_msgs_per_cpu_s": round(total / hub_cpu) if hub_cpu else None,
        "warmup": args.warmup,
        "pinned": args.pin,
        "first_contact_msgs_per_s": (
            round(args.desks / first_contact_s) if first_contact_s else None
        ),
        "end_to_end_influx_msgs_per_s": round(total / influx_s),
        "status_page": bool(status_port),
        "hub_messages_in": counts.get("sitless_messages_in_total"),
        "hub_messages_dropped": dropped,
        "influx_points": {"occupancy": stored[0], "device_health": stored[1]},
        "expected_points": {"occupancy": occupancy, "device_health": telemetry},
        "zero_loss": stored == (occupancy, telemetry) and dropped == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--desks",
        type=int,
        nargs="+",
        default=[1000],
        help="desk counts to run, one run each (default 1000)",
    )
    parser.add_argument(
        "--messages", type=int, default=100_000, help="messages per run (default 100000)"
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="publish at most this many messages/s (default: as fast as possible)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="give up on any one wait after this many seconds",
    )
    parser.add_argument(
        "--no-warmup",
        dest="warmup",
        action="store_false",
        help="skip the untimed pass in which every desk first says it is online "
        "(every timed message is then a desk's first at --desks = "
        "--messages)",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="run the hub alone on CPU 0 and everything else on the other CPUs "
        "during the timed pass",
    )
    parser.add_argument(
        "--hubs",
        type=int,
        choices=(1, 2),
        default=1,
        help="hub processes, one per topic prefix, sharing the desks and messages (default 1)",
    )
    parser.add_argument(
        "--status-page",
        action="store_true",
        help="run the hub's status page too and read its /metrics counters",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the hub under py-spy and write a speedscope profile"
    )
    parser.add_argument("--out", help="result file (default bench/results/ingest.json)")
    args = parser.parse_args()
    runs = []
    for desks in args.desks:
        one = argparse.Namespace(**{**vars(args), "desks": desks})
        runs.append(run(one))
    write_result("ingest", {"runs": runs}, args.out)
    return 0 if all(r["zero_loss"] for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
