"""The hub's owner thread alone: CPU per message with no broker and no network thread.

Figure 1 (bench/ingest.py) is the whole hub between a real broker and a real
influxd, on a machine it shares with both, so a change of a microsecond or
two per message drowns in the noise there. This times the part that owns
desk state on its own: the same messages as figure 1 are put in the
service's inbox first, then ``HubService.run`` takes them in its usual
batches (contract checks, state machine, checkpoint, history spool,
views). Real: the service, its SQLite checkpoint and spool, the history
points. Stood in: the transport, which keeps what would be published and
acknowledges nothing; the spool's writer, which has no server to reach, so
the points stay spooled.

    .venv/bin/python bench/owner.py --desks 1000 100000
    .venv/bin/python bench/owner.py --desks 1000 --callgrind

With ``--callgrind`` each size is also run once under valgrind's callgrind,
which counts the machine instructions the owner thread executes in the timed
pass (the dump is cut where the pass starts and ends): a figure that does not
move with the machine's speed or load, only with the code, the interpreter
and the libraries. Its timed pass is ``--callgrind-messages`` long, since
the interpreter runs some fifty times slower under callgrind.
"""

from __future__ import annotations

import argparse
import gc
import logging
import queue
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import callgrind_parts, desk_name, write_result
from bench.ingest import PREFIX, messages
from hub import config
from hub.commands.hub import GC_THRESHOLDS
from hub.core.service import HubService
from hub.history import History
from hub.history.today import TodayTally
from hub.mqtt.inbox import Inbound


class KeepTransport:
    """Counts what the service publishes; nothing leaves the process."""

    def __init__(self) -> None:
        self.connected = threading.Event()
        self.published = 0

    def start(self) -> None:
        """Nothing to connect to."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Count it; nothing is sent."""
        del topic, payload, retain
        self.published += 1

    def stop(self, timeout: float = 5.0) -> None:
        """Nothing to close."""


def hub_config(work: Path, desks: int, inbox: int) -> config.HubConfig:
    """As ``sitless hub`` would run it, with history to a server that is not there."""
    text = (
        f'state_dir = "{work}"\n[mqtt]\nurl = "mqtt://127.0.0.1:1"\nprefix = "{PREFIX}"\n'
        '[history]\napi = "v1"\nurl = "http://127.0.0.1:1"\ndatabase = "bench"\n'
        f"[limits]\nqueue_size = {inbox}\nmax_desks_per_prefix = {desks + 10}\n"
    )
    path = work / "hub.toml"
    path.write_text(text)
    return config.load(path)


def run(desks: int, total: int) -> dict[str, object]:
    """One timed pass of ``total`` messages once every desk is known and has been heard.

    Untimed first: every desk says it is online, then sends one occupancy
    change and one telemetry message (the first round of the same traffic),
    so the timed pass is the steady state of a running hub, each desk's history
    series and caches already made. Without that round, at 1 000 desks the
    first 2 000 timed messages would each be their series' first.
    """
    work = Path(tempfile.mkdtemp(prefix="sitless-bench-owner-"))
    t0 = time.time()
    traffic, _, _ = messages(desks, 2 * desks + total, t0)
    first_round, timed = traffic[: 2 * desks], traffic[2 * desks :]
    warmup = [(f"{PREFIX}/{desk_name(i)}/status", b"online") for i in range(desks)]
    cfg = hub_config(work, desks, len(warmup) + len(traffic) + 10)
    transport = KeepTransport()
    # The service's clock stands still: no history sample (every desk, once a minute) and
    # no deadline falls in a pass however long it takes, so under callgrind, where a pass
    # takes minutes, the count is the messages' work alone (within 1 % run to run).
    service = HubService(
        cfg,
        history=TodayTally(History(cfg), "UTC"),
        transport=transport,
        clock=lambda: t0,
    )
    service.history.start()
    try:
        warm_s = drain(service, warmup)
        round_s = drain(service, first_round)
        published = transport.published
        cpu_s = drain(service, timed)
    finally:
        service.history.close()
        service.checkpoint.close()
    return {
        "desks": desks,
        "messages": len(timed),
        "us_cpu_per_message": round(cpu_s / len(timed) * 1e6, 2),
        "messages_per_cpu_s": round(len(timed) / cpu_s),
        "views_published": transport.published - published,
        "first_contact_us_cpu_per_message": round(warm_s / len(warmup) * 1e6, 2),
        "first_round_us_cpu_per_message": round(round_s / len(first_round) * 1e6, 2),
    }


def drain(service: HubService, batch: list[tuple[str, bytes]]) -> float:
    """Fill the inbox, run the owner loop until it is empty; the CPU seconds that took."""
    now = time.time()
    for topic, payload in batch:
        service.inbox.put_nowait(Inbound(topic, payload, False, now, 0, 1, 0))
    service._stop.clear()  # noqa: SLF001 - run() in this thread, stopped when the inbox is empty
    get = service.inbox.get

    def get_or_stop(*_args: object, **_kwargs: object) -> Inbound | None:
        try:
            return get(timeout=0)
        except queue.Empty:
            service._stop.set()  # noqa: SLF001 - see above
            raise

    service.inbox.get = get_or_stop  # type: ignore[method-assign]
    try:
        start = time.thread_time()
        sys.getswitchinterval()  # under callgrind, cuts the dump here (see CALLGRIND_MARK)
        service.run()
        sys.getswitchinterval()
        return time.thread_time() - start
    finally:
        service.inbox.get = get  # type: ignore[method-assign]


# The interpreter's C function behind sys.getswitchinterval(), which nothing else here calls:
# callgrind starts a new dump part of the owner thread (thread 1) each time it is entered,
# which drain() does just before and just after each pass (see instructions()).
CALLGRIND_MARK = "sys_getswitchinterval"


def instructions(desks: int, total: int) -> dict[str, object]:
    """The same run under callgrind: machine instructions per message on the owner thread."""
    args = ["--desks", str(desks), "--messages", str(total)]
    parts = callgrind_parts(Path(__file__).resolve(), args, CALLGRIND_MARK)
    # Each drain() is cut by two marks, so part 2 is the warm-up (every desk's
    # first message), part 4 the first round and part 6 the timed pass.
    warm, first, timed = parts[2], parts[4], parts[6]
    return {
        "desks": desks,
        "messages": total,
        "instructions_per_message": round(timed / total),
        "first_contact_instructions_per_message": round(warm / desks),
        "first_round_instructions_per_message": round(first / (2 * desks)),
        "parts": len(parts),
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
        "--messages", type=int, default=50_000, help="timed messages per run (default 50000)"
    )
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="also count instructions per message under valgrind's callgrind",
    )
    parser.add_argument(
        "--callgrind-messages",
        type=int,
        default=2000,
        help="timed messages per run under callgrind (default 2000)",
    )
    parser.add_argument("--out", help="result file (default bench/results/owner.json)")
    args = parser.parse_args()
    gc.set_threshold(*GC_THRESHOLDS)  # as sitless hub runs
    logging.disable(logging.WARNING)  # the writer's "server unavailable" is expected here
    runs = [run(desks, args.messages) for desks in args.desks]
    figures: dict[str, object] = {"runs": runs}
    if args.callgrind:
        figures["callgrind"] = [instructions(d, args.callgrind_messages) for d in args.desks]
    write_result("owner", figures, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
