"""Every sitting rule against the pure state machine, with times fed by hand.

Real: hub.core.sitting and hub.core.schedule. Stood in: nothing (there is no I/O); the
clock is the numbers each test passes in.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hub.config import ScheduleConfig
from hub.core.facts import BoutEnded, Snoozed
from hub.core.schedule import WorkingHours
from hub.core.sitting import Desk, PublishState, Rules, SendAlert, SendClear

T0 = 1_764_000_000.0
RULES = Rules(
    limit=1800,
    min_break=120,
    escalate_after=300,
    snooze=600,
    max_snoozes=3,
    pause=3600,
    telemetry_period=60,
)


def desk(rules: Rules = RULES) -> Desk:
    return Desk("d1", rules)


def alerts(decisions) -> list[int]:
    return [d.level for d in decisions if isinstance(d, SendAlert)]


def run(d: Desk, start: float, end: float, step: float = 1.0) -> list:
    """Tick every ``step`` seconds, as the service would when deadlines come due."""
    out = []
    t = start
    while t <= end:
        out += d.on_tick(t)
        t += step
    return out


def ended(decisions) -> list[BoutEnded]:
    return [d for d in decisions if isinstance(d, BoutEnded)]


def test_first_alert_comes_at_the_limit_not_before():
    d = desk()
    d.on_occupancy(True, T0)
    assert d.next_deadline(T0) == T0 + 1800
    assert alerts(run(d, T0, T0 + 1799)) == []
    out = d.on_tick(T0 + 1800)
    assert alerts(out) == [1]
    assert any(isinstance(x, SendAlert) and x.fact.level == 1 for x in out)
    assert d.state(T0 + 1800) == "alerting"


def test_escalates_to_three_then_repeats_three_every_escalate_after():
    d = desk()
    d.on_occupancy(True, T0)
    out = run(d, T0, T0 + 1800 + 4 * 300)
    assert alerts(out) == [1, 2, 3, 3, 3]


def test_short_stand_does_not_end_the_bout():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_occupancy(False, T0 + 600)
    out = d.on_occupancy(True, T0 + 600 + 119)
    assert ended(out) == []
    assert d.view(T0 + 800).since == T0
    assert alerts(run(d, T0 + 720, T0 + 1800)) == [1]


def test_break_of_min_break_ends_the_bout_and_the_next_sit_starts_fresh():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_occupancy(False, T0 + 600)
    assert d.next_deadline(T0 + 600) == T0 + 720
    out = d.on_tick(T0 + 720)
    [bout] = ended(out)
    assert (bout.start, bout.end, bout.ended_by, bout.alerts) == (T0, T0 + 600, "break", 0)
    d.on_occupancy(True, T0 + 800)
    assert d.view(T0 + 800).since == T0 + 800
    assert alerts(run(d, T0 + 800, T0 + 800 + 1799)) == []


def test_late_sit_message_still_ends_the_old_bout_first():
    """No tick ran during the break (hub busy): the event itself settles the past."""
    d = desk()
    d.on_occupancy(True, T0)
    d.on_occupancy(False, T0 + 100)
    out = d.on_occupancy(True, T0 + 500)
    assert [b.ended_by for b in ended(out)] == ["break"]
    assert d.view(T0 + 500).since == T0 + 500


def test_standing_clears_at_once_and_never_alerts_vacant_desk():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    out = d.on_occupancy(False, T0 + 1810)
    assert [type(x) for x in out if isinstance(x, SendClear | SendAlert)] == [SendClear]
    assert alerts(run(d, T0 + 1810, T0 + 1810 + 119)) == []


def test_sitting_back_before_min_break_re_alerts_at_current_level():
    d = desk()
    d.on_occupancy(True, T0)
    run(d, T0 + 1800, T0 + 2100, 300)  # levels 1 and 2
    assert d.level == 2
    d.on_occupancy(False, T0 + 2110)
    out = d.on_occupancy(True, T0 + 2150)
    assert [(a.level, a.resumed) for a in out if isinstance(a, SendAlert)] == [(2, True)]
    assert ended(out) == []
    # escalation continues from here, no burst
    assert alerts(d.on_tick(T0 + 2151)) == []
    assert alerts(run(d, T0 + 2152, T0 + 2150 + 300)) == [3]


def test_response_time_is_first_alert_to_standing():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    d.on_occupancy(False, T0 + 1845)
    [bout] = ended(d.on_tick(T0 + 1845 + 120))
    assert bout.responded_s == 45
    assert bout.max_level == 1


def test_snooze_clears_and_delays_next_alert():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    out = d.on_button("short", T0 + 1810)
    assert any(isinstance(x, SendClear) for x in out)
    assert any(isinstance(x, Snoozed) and x.press == "short" for x in out)
    assert d.state(T0 + 1811) == "snoozed"
    assert alerts(run(d, T0 + 1811, T0 + 1810 + 599)) == []
    assert alerts(d.on_tick(T0 + 1810 + 600)) == [2]


def test_snoozes_are_capped_per_bout():
    d = desk(Rules(limit=100, min_break=50, escalate_after=10, snooze=20, max_snoozes=2))
    d.on_occupancy(True, T0)
    levels = []
    snoozed = 0
    t = T0
    while t < T0 + 400:
        out = d.on_tick(t)
        levels += alerts(out)
        if alerts(out):
            press = d.on_button("short", t)
            snoozed += sum(isinstance(x, SendClear) for x in press)
        t += 1
    assert snoozed == 2
    assert d._s.bout is not None
    assert d._s.bout.snoozes == 2


def test_strict_mode_allows_no_snooze():
    cfg_rules = Rules(limit=100, min_break=50, escalate_after=10, max_snoozes=0)
    d = desk(cfg_rules)
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 100)
    out = d.on_button("short", T0 + 101)
    assert not any(isinstance(x, SendClear) for x in out)
    assert d.state(T0 + 101) == "alerting"


def test_short_press_without_alert_spends_no_snooze():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_button("short", T0 + 10)
    assert d._s.bout is not None
    assert d._s.bout.snoozes == 0
    assert alerts(d.on_tick(T0 + 1800)) == [1]


def test_long_press_pauses_alerts_but_time_counts():
    d = desk()
    d.on_occupancy(True, T0)
    out = d.on_button("long", T0 + 1000)
    assert any(isinstance(x, Snoozed) and x.press == "long" for x in out)
    assert d.state(T0 + 1000) == "paused"
    assert alerts(run(d, T0 + 1000, T0 + 1000 + 3599, 10)) == []
    assert d.bout_time(T0 + 4599) == 4599
    assert alerts(d.on_tick(T0 + 4600)) == [1]


def test_pause_during_alert_clears_and_api_pause_can_resume():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    out = d.pause(600, T0 + 1801)
    assert any(isinstance(x, SendClear) for x in out)
    assert alerts(d.on_tick(T0 + 2200)) == []
    d.pause(0, T0 + 2201)
    assert alerts(d.on_tick(T0 + 2201)) == [2]


def test_offline_freezes_bout_and_short_outage_continues_it():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_status(False, T0 + 1000)
    assert d.state(T0 + 1050) == "offline"
    assert d.bout_time(T0 + 1100) == 1000
    assert alerts(run(d, T0 + 1000, T0 + 1110, 5)) == []
    d.on_status(True, T0 + 1100)
    assert d.bout_time(T0 + 1100) == 1000
    assert d.next_deadline(T0 + 1100) == T0 + 1900
    assert alerts(d.on_tick(T0 + 1900)) == [1]


def test_offline_longer_than_min_break_ends_bout_with_offline():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_status(False, T0 + 500)
    [bout] = ended(d.on_tick(T0 + 620))
    assert (bout.ended_by, bout.end) == ("offline", T0 + 500)
    # back online still seated: a new bout from the return
    d.on_status(True, T0 + 700)
    assert d.view(T0 + 700).since == T0 + 700


def test_telemetry_gap_of_three_periods_counts_as_offline():
    d = desk()
    d.on_telemetry(T0)
    d.on_occupancy(True, T0 + 10)
    assert d.next_deadline(T0 + 10) == T0 + 10 + 180
    out = d.on_tick(T0 + 190)
    assert d.state(T0 + 190) == "offline"
    # 180 s of silence is longer than min_break: the bout ended at the last message
    [bout] = ended(out)
    assert (bout.ended_by, bout.end) == ("offline", T0 + 10)


def test_no_telemetry_ever_means_no_gap_rule():
    d = desk()
    d.on_occupancy(True, T0)
    assert alerts(d.on_tick(T0 + 1800)) == [1]


def test_clock_jump_forward_sends_one_alert_not_a_burst():
    d = desk()
    d.on_occupancy(True, T0)
    out = d.on_tick(T0 + 10 * 3600)
    assert alerts(out) == [1]
    assert alerts(d.on_tick(T0 + 10 * 3600 + 1)) == []


def test_clock_jump_backward_sends_nothing_and_breaks_nothing():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    out = d.on_tick(T0 - 3600)
    assert alerts(out) == []
    assert ended(out) == []
    assert d.bout_time(T0 - 3600) == 0


def test_out_of_order_event_is_applied_at_the_latest_time_seen():
    d = desk()
    d.on_occupancy(True, T0 + 100)
    d.on_occupancy(False, T0 + 50)
    assert d._s.vacant_since == T0 + 100


def test_publishes_only_on_change():
    d = desk()
    first = d.on_occupancy(True, T0)
    assert [x.view.state for x in first if isinstance(x, PublishState)] == ["seated"]
    assert [x for x in d.on_tick(T0 + 5) if isinstance(x, PublishState)] == []
    again = d.on_occupancy(True, T0 + 6)
    assert [x for x in again if isinstance(x, PublishState)] == []


def test_snapshot_and_restore_keep_bout_and_level():
    d = desk()
    d.on_occupancy(True, T0)
    d.on_tick(T0 + 1800)
    saved = d.snapshot()
    fresh = desk()
    fresh.restore(saved)
    fresh.resume(T0 + 1850)
    assert fresh.view(T0 + 1850).since == T0
    assert fresh.level == 1
    assert alerts(fresh.on_tick(T0 + 1850)) == []
    assert alerts(fresh.on_tick(T0 + 2100)) == [2]


def test_seed_from_retained_view():
    d = desk()
    d.seed(T0, 2, T0 + 2200)
    assert d.level == 2
    assert alerts(d.on_tick(T0 + 2200)) == []
    assert alerts(d.on_tick(T0 + 2500)) == [3]


def _hours(start="09:00", end="17:00", tz="Europe/Berlin") -> WorkingHours:
    return WorkingHours(
        ScheduleConfig(timezone=tz, start=start, end=end, days=["mon", "tue", "wed", "thu", "fri"])
    )


def _at(y, m, d, hh, mm, *, tz="Europe/Berlin") -> float:
    return dt.datetime(y, m, d, hh, mm, tzinfo=zoneinfo.ZoneInfo(tz)).timestamp()


def test_working_hours_know_days_zones_and_dst():
    hours = _hours()
    assert hours.is_open(_at(2026, 3, 27, 9, 0))  # a Friday
    assert not hours.is_open(_at(2026, 3, 27, 8, 59))
    assert not hours.is_open(_at(2026, 3, 28, 12, 0))  # Saturday
    # Sunday 29 March is the switch to summer time; Monday opens at 09:00 local
    assert hours.next_open(_at(2026, 3, 28, 12, 0)) == _at(2026, 3, 30, 9, 0)


def test_overnight_window():
    hours = _hours("22:00", "06:00", "UTC")
    assert hours.is_open(_at(2026, 3, 24, 23, 0, tz="UTC"))
    assert hours.is_open(_at(2026, 3, 25, 5, 0, tz="UTC"))
    assert not hours.is_open(_at(2026, 3, 25, 12, 0, tz="UTC"))


def test_alert_outside_hours_waits_for_opening():
    hours = _hours()
    start = _at(2026, 3, 27, 16, 45)
    d = Desk("d1", Rules(limit=1800, min_break=120, escalate_after=300, hours=hours))
    d.on_occupancy(True, start)
    assert alerts(run(d, start, start + 3600, 60)) == []
    monday = _at(2026, 3, 30, 9, 0)
    d.on_occupancy(True, start + 10)  # no change, still the same bout
    assert d.next_deadline(start + 3600) == monday
    assert alerts(d.on_tick(monday)) == [1]
    assert alerts(d.on_tick(monday + 1)) == []
