"""A hub SIGKILLed with a full inbox loses none of the messages that sat in it.

The hub acknowledges a message to the broker only after the batch that
applied it has been committed to the checkpoint and the history spool, so
what was received but not yet applied when the process died is still the
broker's, and comes again after the restart; what was applied but not yet
acknowledged comes again too, and is dropped by its ``(boot, seq)``.

Real: the ``sitless hub`` process (SIGKILLed in the middle of a burst,
started again), the session mosquitto with its persistent session for the
hub, the hub's SQLite checkpoint and local history spool. Stood in: the
chairs, by one raw MQTT connection publishing their QoS 1 events in bulk.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from bench.common import RawPublisher, publish_packet
from hub.history.spool import Spool
from tests.reliability.rig import occupancy
from tests.support.hubproc import HubProcess
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = [f"desk-{n:03d}" for n in range(100)]
ROUNDS = 3
EVENTS_PER_DESK = 60  # per round: 6 000 messages, several of the hub's batches
SPOOL = "sitless-spool.sqlite3"


def write_config(path: Path, url: str, prefix: str, state: Path) -> Path:
    # Limits far beyond the test: only occupancy history matters here, no alerts.
    path.write_text(f"""state_dir = "{state}"

[mqtt]
url = "{url}"
prefix = "{prefix}"
client_id = "hub-{uuid.uuid4().hex[:10]}"
keepalive = "5s"

[sitting]
limit = "1h"
min_break = "1s"

[history]
sample_period = "1h"
""")
    return path


def spooled_seqs(state: Path) -> dict[str, list[int]]:
    """The occupancy seqs in the hub's local spool, by desk (empty before it exists)."""
    path = state / SPOOL
    if not path.exists():
        return {}
    by_desk: dict[str, list[int]] = defaultdict(list)
    try:
        spool = Spool(path, 1 << 30)  # read as ``sitless report`` does
    except sqlite3.Error:
        return {}  # the hub is still creating it
    try:
        for point in spool.read(["occupancy"], 0, 1 << 62):
            by_desk[str(point.desk)].append(int(point.fields["seq"]))
    finally:
        spool.close()
    return by_desk


def spooled_count(state: Path) -> int:
    return sum(len(seqs) for seqs in spooled_seqs(state).values())


def test_sigkill_with_a_full_inbox_loses_no_event_and_applies_none_twice(
    mosquitto, probe, prefix, tmp_path
):
    state = tmp_path / "state"
    hub = HubProcess(
        write_config(tmp_path / "sitless.toml", mosquitto.url, prefix, state), tmp_path / "hub.log"
    )
    probe.subscribe(f"{prefix}/_hub/status")

    def hub_onlines() -> int:
        return sum(1 for m in probe.received(f"{prefix}/_hub/status") if m.payload == b"online")

    publisher = RawPublisher(mosquitto.host, mosquitto.port, f"chairs-{uuid.uuid4().hex[:8]}")
    hub.start()
    killed_with_backlog = 0
    try:
        wait_until(lambda: hub_onlines() >= 1, timeout=30, what="hub online")
        seq = 0
        for _ in range(ROUNDS):
            before = spooled_count(state)
            packets = []
            for _n in range(EVENTS_PER_DESK):
                seq += 1
                for desk in DESKS:
                    payload = occupancy(seq % 2 == 1, seq, None)
                    packets.append(
                        publish_packet(f"{prefix}/{desk}/occupancy", payload, publisher.packet_id())
                    )
            publisher.send(packets)
            # Kill as soon as the hub has applied part of the burst: the rest is in
            # its inbox, in its transport's buffers, or still at the broker.
            wait_until(
                lambda b=before: spooled_count(state) > b,
                timeout=60,
                what="the hub applying the burst",
            )
            hub.kill()
            applied = spooled_count(state) - before
            if applied < len(packets):
                killed_with_backlog += 1
            hub.start()
            wait_until(lambda n=hub.starts: hub_onlines() >= n, timeout=30, what="hub back")
        publisher.wait_acked()
        total = seq

        def all_spooled() -> bool:
            return spooled_count(state) >= total * len(DESKS)

        # On a timeout the assertions below say which events are missing.
        with contextlib.suppress(TimeoutError):
            wait_until(all_spooled, timeout=90, what="every event spooled")
    finally:
        publisher.close()
        code = hub.terminate()
    log = hub.log_text()
    assert code == 0, log[-3000:]
    assert "Traceback" not in log
    # The kills did land while the hub had work left, or the test proves nothing.
    assert killed_with_backlog >= 1
    seqs = spooled_seqs(state)
    for desk in DESKS:
        # every event once: none lost, and the spool's key would hide a repeat, so the
        # checkpoint's dedupe state must end at the last seq, not beyond or behind it
        missing = sorted(set(range(1, total + 1)) - set(seqs[desk]))
        assert not missing, f"{desk}: {len(missing)} events lost, from seq {missing[0]}"
        assert sorted(seqs[desk]) == list(range(1, total + 1)), desk
    with sqlite3.connect(state / "sitless-checkpoint.sqlite3") as db:
        last = dict(db.execute("SELECT desk, seq FROM desk_state"))
    assert last == dict.fromkeys(DESKS, total)
