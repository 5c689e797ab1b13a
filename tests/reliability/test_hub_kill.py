"""Fault 3: ``sitless hub`` SIGKILLed at random moments while 100 desks sit, then restarted.

Real: the ``sitless hub`` process (killed with SIGKILL, started again), the
session mosquitto with persistence, the hub's SQLite checkpoint and its
local history spool. Stood in: the 100 chairs, by one real MQTT client
publishing what each firmware would.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from tests.reliability.rig import occupancy
from tests.support.hubproc import HubProcess
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = [f"desk-{n:03d}" for n in range(100)]
LIMIT_S = ESCALATE_S = 3.0  # alerts at 3, 6 and 9 s; level 3 would repeat only at 12 s


def write_config(path: Path, url: str, prefix: str, state: Path) -> Path:
    path.write_text(f"""state_dir = "{state}"

[mqtt]
url = "{url}"
prefix = "{prefix}"
client_id = "hub-{uuid.uuid4().hex[:10]}"
keepalive = "5s"

[sitting]
limit = "{LIMIT_S}s"
escalate_after = "{ESCALATE_S}s"
min_break = "1s"

[schedule]
days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[history]
sample_period = "60s"
""")
    return path


def spooled(state: Path) -> dict[str, list[tuple[str, dict[str, object]]]]:
    """Every point in the hub's local spool, by desk: (measurement, fields and tags).

    A point's tags (an alert's ``level``) live in its key, beside measurement and time.
    """
    by_desk: dict[str, list[tuple[str, dict[str, object]]]] = defaultdict(list)
    with sqlite3.connect(state / "sitless-spool.sqlite3") as db:
        for key, measurement, desk, fields in db.execute(
            "SELECT key, measurement, desk, fields FROM points WHERE desk IS NOT NULL"
        ):
            tags = dict(json.loads(key)[1])
            by_desk[desk].append((measurement, {**json.loads(fields), **tags}))
    return by_desk


def test_random_sigkills_keep_bouts_never_repeat_an_alert_and_lose_no_history(
    mosquitto, probe, prefix, tmp_path
):
    rng = random.Random(4242)  # noqa: S311 - test timing, seeded to repeat
    state = tmp_path / "state"
    hub = HubProcess(
        write_config(tmp_path / "sitless.toml", mosquitto.url, prefix, state), tmp_path / "hub.log"
    )
    probe.subscribe(f"{prefix}/#")

    def hub_onlines() -> int:
        return sum(1 for m in probe.received(f"{prefix}/_hub/status") if m.payload == b"online")

    hub.start()
    try:
        wait_until(lambda: hub_onlines() >= 1, timeout=30, what="hub online")
        sat: dict[str, float] = {}
        for desk in DESKS:
            probe.publish(f"{prefix}/{desk}/status", "online", retain=True)
            sat[desk] = time.time()
            probe.publish(f"{prefix}/{desk}/occupancy", occupancy(True, 1, sat[desk]), retain=True)
        first_sit = min(sat.values())
        kills = sorted(rng.uniform(0.5, 8.5) for _ in range(3))
        for at in kills:
            time.sleep(max(0.0, first_sit + at - time.time()))
            hub.kill()
            hub.start()
            wait_until(lambda n=hub.starts: hub_onlines() >= n, timeout=30, what="hub back")
        # each chair stands at its level-3 alert, before level 3 could come round again
        standing = set(DESKS)

        def stand_the_alerted() -> bool:
            # One pass over what arrived (not one per desk), so a busy machine still
            # stands each chair well inside the escalate_after before level 3 comes again.
            at_level_3 = {
                m.topic.split("/")[-2]
                for m in probe.received()
                if m.topic.endswith("/cmd") and m.json().get("level") == 3
            }
            for desk in sorted(standing & at_level_3):
                probe.publish(
                    f"{prefix}/{desk}/occupancy", occupancy(False, 2, time.time()), retain=True
                )
                standing.discard(desk)
            return not standing

        wait_until(stand_the_alerted, timeout=60, what="every desk reached level 3")

        def all_ended() -> bool:
            points = spooled(state)
            return all(any(m == "sitting_bout" for m, _ in points.get(d, [])) for d in DESKS)

        wait_until(all_ended, timeout=60, what="every bout ended and spooled")
    finally:
        code = hub.terminate()
    assert code == 0, hub.log_text()[-3000:]
    assert "Traceback" not in hub.log_text()

    points = spooled(state)
    for desk in DESKS:
        check_desk(desk, sat[desk], probe, prefix, points[desk])


def check_desk(
    desk: str,
    sat: float,
    probe: MqttProbe,
    prefix: str,
    points: list[tuple[str, dict[str, object]]],
) -> None:
    """One desk's commands, views and history after the kills."""
    cmds = [m.json() for m in probe.received(f"{prefix}/{desk}/cmd")]
    levels = [c["level"] for c in cmds if c["action"] == "alert"]
    # never the same level twice in one bout (a kill may cost one, never repeat one)
    assert levels == sorted(set(levels)), (desk, levels)
    assert levels, f"{desk} was never alerted"
    seen = probe.received(f"{prefix}/{desk}/sitting")
    views = [m.json() for m in seen]
    since = {v["since"] for v in views if v["since"] is not None}
    assert len(since) == 1, (desk, since)  # one bout, kept across every restart
    # The bout starts at the sit, or at the hub's receipt of "online" if that was later
    # (a kill before the hub heard the desk puts that receipt after the restart); either
    # way no later than the first view that carried it reached the probe.
    first_view = next(m.at for m in seen if m.json()["since"] is not None)
    assert sat - 0.01 <= since.pop() <= first_view, (desk, sat, first_view)
    assert views[-1]["state"] == "vacant"

    kinds = [m for m, _ in points]
    seqs = sorted(f["seq"] for m, f in points if m == "occupancy")
    assert seqs == [1, 2], (desk, seqs)
    bouts = [f for m, f in points if m == "sitting_bout"]
    assert len(bouts) == 1, (desk, bouts)
    assert bouts[0]["duration_s"] >= LIMIT_S + 2 * ESCALATE_S  # long enough for level 3
    # Every alert sent is in the history under its own level (a kill may delay an
    # alert, so its seated_s can be later than its level's due time, never earlier).
    alerts = [f for m, f in points if m == "alert"]
    alert_levels = sorted(int(str(f["level"])) for f in alerts)
    assert set(levels) <= set(alert_levels), (desk, levels, kinds)
    for f in alerts:
        due_s = LIMIT_S + (int(str(f["level"])) - 1) * ESCALATE_S
        assert float(str(f["seated_s"])) >= due_s - 0.01, (desk, f)
