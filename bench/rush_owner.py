"""The 09:00 rush on the owner thread alone: the work from the deadline to the last command.

bench/rush.py measures the whole way to a subscriber on a real broker, on a
machine it shares with the broker. This drives the part that owns desk
state on its own: ``--desks`` desks say ``online``, then sit down at the same
instant (untimed), then the clock is moved to their common deadline and one
``HubService.step`` works the rush out. Real: the service, its SQLite
checkpoint, the history (points spooled; the writer has no server to reach).
Stood in: the transport, which notes when each command is handed to it.

    .venv/bin/python bench/rush_owner.py --desks 1000 10000
    .venv/bin/python bench/rush_owner.py --desks 1000 --callgrind

With ``--callgrind`` each size is also run once under valgrind's callgrind,
counting the machine instructions of the owner thread from the deadline to
the last command, and from there to the end of the step (views, history):
figures that do not move with the machine's speed or load.
"""

from __future__ import annotations

import argparse
import gc
import logging
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import callgrind_parts, desk_name, write_result
from hub import config
from hub.commands.hub import GC_THRESHOLDS
from hub.core.service import HubService
from hub.history import History
from hub.history.today import TodayTally
from hub.mqtt.inbox import Inbound

PREFIX = "bench"
# Off the history sample grid: a sample instant at the deadline would add a snapshot of
# every desk to the same step, before the deadlines (see docs/performance.md).
T0 = 1_800_000_000.5
LIMIT_S = 600.0
# The C function behind sys.getswitchinterval(), which nothing else here calls: callgrind
# starts a new dump part at each call, made at the deadline, the last command, the step's end.
CALLGRIND_MARK = "sys_getswitchinterval"


class NotingTransport:
    """Notes when each command is handed over (and marks the last one); nothing is sent."""

    def __init__(self, commands: int) -> None:
        self.connected = threading.Event()
        self.expected = commands
        self.command_at: list[float] = []

    def start(self) -> None:
        """Nothing to connect to."""

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to close."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """One publish, as a batch of one."""
        self.publish_many([(topic, payload, retain)])

    def publish_many(self, messages: list[tuple[str, bytes, bool]]) -> None:
        """Note the time of each command; mark the last one for callgrind."""
        now = time.thread_time()
        for topic, _payload, _retain in messages:
            if topic.endswith("/cmd"):
                self.command_at.append(now)
                if len(self.command_at) == self.expected:
                    sys.getswitchinterval()  # callgrind: the last command


def hub_config(work: Path, desks: int) -> config.HubConfig:
    """As ``sitless hub`` would run it, with history to a server that is not there."""
    text = (
        f'state_dir = "{work}"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\nprefix = "{PREFIX}"\n'
        '[history]\napi = "v1"\nurl = "http://127.0.0.1:1"\ndatabase = "bench"\n'
        f"[limits]\nmax_desks_per_prefix = {desks + 10}\n"
        f'[sitting]\nlimit = "{LIMIT_S}s"\n'
    )
    path = work / "hub.toml"
    path.write_text(text)
    return config.load(path)


def run(desks: int) -> dict[str, object]:
    """One rush of ``desks`` desks; CPU seconds of the owner thread to the last command and on."""
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-rush-owner-"))
    clock = [T0]
    transport = NotingTransport(desks)
    cfg = hub_config(work, desks)
    service = HubService(
        cfg, history=TodayTally(History(cfg), "UTC"), transport=transport, clock=lambda: clock[0]
    )
    service.history.start()
    try:
        names = [desk_name(i) for i in range(desks)]
        sit = f'{{"seated":true,"seq":1,"boot":"rush","ts":{T0},"uptime_ms":1000,"value":1830.5}}'
        for topic, body in (("status", b"online"), ("occupancy", sit.encode())):
            batch = [Inbound(f"{PREFIX}/{d}/{topic}", body, False, T0, 0, 1, 0) for d in names]
            for first in range(0, desks, 1000):
                service.step(batch[first : first + 1000])
        transport.command_at.clear()
        clock[0] = T0 + LIMIT_S
        start = time.thread_time()
        sys.getswitchinterval()  # callgrind: the deadline
        service.step([])
        sys.getswitchinterval()  # callgrind: the step's end
        end = time.thread_time()
    finally:
        service.history.close()
        service.checkpoint.close()
        shutil.rmtree(work, ignore_errors=True)
    sent = transport.command_at
    last = sent[-1] - start if sent else float("nan")
    return {
        "desks": desks,
        "commands": len(sent),
        "cpu_ms_to_first_command": round(1000 * (sent[0] - start), 2) if sent else None,
        "cpu_ms_to_last_command": round(1000 * last, 2),
        "us_cpu_per_desk_to_last_command": round(1e6 * last / desks, 2),
        "cpu_ms_after_last_command": round(1000 * (end - start - last), 2),
    }


def instructions(desks: int) -> dict[str, object]:
    """The same rush under callgrind: instructions per desk to the last command and after."""
    parts = callgrind_parts(Path(__file__).resolve(), ["--desks", str(desks)], CALLGRIND_MARK)
    # The owner is the main thread: part 2 runs from the deadline to the last
    # command, part 3 from there to the step's end.
    to_last, after = parts[2], parts[3]
    return {
        "desks": desks,
        "instructions_per_desk_to_last_command": round(to_last / desks),
        "instructions_per_desk_after_last_command": round(after / desks),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--desks", type=int, nargs="+", default=[1000], help="desk counts, one run each"
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count the owner thread's instructions under valgrind's callgrind",
    )
    parser.add_argument("--out", help="result file (default bench/results/rush_owner.json)")
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as sitless hub runs
    logging.disable(logging.WARNING)  # the writer's "server unavailable" is expected here
    figures: dict[str, object] = {"runs": [run(desks) for desks in args.desks]}
    if args.callgrind:
        figures["callgrind"] = [instructions(desks) for desks in args.desks]
    write_result("rush_owner", figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
