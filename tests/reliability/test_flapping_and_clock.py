"""Faults 4 and 6: a device flapping online/offline, and the hub's clock jumping both ways.

Real: hub.core.service (message handling, dedupe, desk state machines, the
deadline heap, sampling, the SQLite checkpoint), driven as its owner thread
drives it. Stood in: the clock (injected, so hours pass in milliseconds and
jumps are exact), the broker link (a recorder of what the hub publishes) and
the history store (a list). Minute-scale rules: limit 60 s, min_break 20 s,
escalate_after 30 s.
"""

from __future__ import annotations

from hub.core.facts import BoutEnded
from hub.core.service import HubService
from tests.reliability.rig import (
    FakeClock,
    ListHistory,
    RecordingLink,
    deliver,
    hub_cfg,
    occupancy,
    tick,
)

ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LIMIT, MIN_BREAK, ESCALATE = 60.0, 20.0, 30.0


def make(tmp_path, **sections) -> tuple[HubService, FakeClock, RecordingLink, ListHistory]:
    clock, link, history = FakeClock(), RecordingLink(), ListHistory()
    cfg = hub_cfg(tmp_path, schedule={"days": ALL_DAYS}, **sections)
    return HubService(cfg, history=history, transport=link, clock=clock), clock, link, history


def test_flapping_every_few_seconds_freezes_the_bout_and_raises_no_alert_storm(tmp_path):
    service, clock, link, history = make(tmp_path)
    try:
        deliver(service, clock, "rel/d1/status", b"online")
        deliver(service, clock, "rel/d1/occupancy", occupancy(True, 1, clock()))
        online_s = 0.0
        alerts_while_offline = 0
        for _ in range(360):  # 30 minutes: 3 s offline, 2 s online, over and over
            deliver(service, clock, "rel/d1/status", b"offline")
            before = len(link.alerts("d1"))
            for _ in range(3):
                tick(service, clock, 1.0)
            alerts_while_offline += len(link.alerts("d1")) - before
            deliver(service, clock, "rel/d1/status", b"online")
            for _ in range(2):
                tick(service, clock, 1.0)
            online_s += 2.0
        view = service.desks["d1"].view(clock())
        # Outages shorter than min_break continue the bout; their time is left out of it.
        assert not [f for f in history.facts if isinstance(f, BoutEnded)]
        assert abs(view.seated_s - online_s) <= 3.0
        assert alerts_while_offline == 0
        levels = [a["level"] for a in link.alerts("d1")]
        allowed = 1 + int((online_s - LIMIT) // ESCALATE) + 1
        assert 3 <= len(levels) <= allowed, (len(levels), allowed)
        assert levels[:3] == [1, 2, 3]
        # Views change with the state, not more: two per flap at most, never a storm.
        assert len(link.views("d1")) <= 2 * 360 + len(levels) + 5

        # An outage longer than min_break ends the bout, once, as "offline".
        deliver(service, clock, "rel/d1/status", b"offline")
        tick(service, clock, MIN_BREAK + 1)
        ended = [f for f in history.facts if isinstance(f, BoutEnded)]
        assert [f.ended_by for f in ended] == ["offline"]
    finally:
        service.checkpoint.close()


def test_clock_jumps_send_one_alert_per_desk_forward_and_none_backward(tmp_path):
    service, clock, link, history = make(tmp_path)
    desks = [f"d{n}" for n in range(100)]
    try:
        for desk in desks:
            deliver(service, clock, f"rel/{desk}/occupancy", occupancy(True, 1, clock()))
        tick(service, clock, 10)
        assert not link.alerts()

        # Forward two hours at once: one alert per desk, not levels 1, 2 and 3 in a burst.
        sent = len(link.sent)
        samples_before = history.samples
        tick(service, clock, 7200)
        jumped = [c for c in link.commands() if c["action"] == "alert"]
        assert len(jumped) == len(desks)
        assert {c["level"] for c in jumped} == {1}
        assert history.samples - samples_before <= len(desks)  # one sample round, not 120
        assert len(link.sent) - sent <= 3 * len(desks)

        # Backward one hour: nothing is sent, nothing is cleared, no bout ends.
        sent = len(link.sent)
        clock.advance(-3600)
        for _ in range(60):
            tick(service, clock, 1.0)
        assert link.sent[sent:] == []
        assert not [f for f in history.facts if isinstance(f, BoutEnded)]

        # Time catches up with where it was, then the next level comes after escalate_after.
        tick(service, clock, 3600 - 60)
        tick(service, clock, ESCALATE)
        levels = {d: [a["level"] for a in link.alerts(d)] for d in desks}
        assert all(v == [1, 2] for v in levels.values()), levels
    finally:
        service.checkpoint.close()
