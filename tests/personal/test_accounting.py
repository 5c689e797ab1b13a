"""Break accounting over a scripted working week, from the local spool and from InfluxDB.

Real: History writing the bouts into its SQLite spool and through to influxd
(started by the shared fixture on a free loopback port), the ``sitless report
--breaks`` command line in-process, the accounting reading both stores. Stood
in: the hub core; the week is a list of finished bouts (``BoutEnded`` facts) as
the core reports them, at the real defaults (30 min limit, 5 min escalation).
The expected figures are worked out by hand below, not by the accounting code.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub import cli
from hub.core.facts import BoutEnded
from hub.history import History
from hub.history.accounting import Bout, DayAccount, Rules, add_bout, streak, week_goal
from tests.history.helpers import make_cfg, wait_drained

MIN = 60.0
TODAY = dt.datetime.now(dt.UTC).date()
# The last full Monday-to-Friday week before today (inside the spool's 30-day retention).
MONDAY = TODAY - dt.timedelta(days=TODAY.weekday() + 7)
FRIDAY = MONDAY + dt.timedelta(days=4)

# (weekday offset, start minute after 09:00, minutes seated, alerts, snoozes, ended_by, responded_s)
WEEK = [
    (0, 0, 20, 0, 0, "break", None),  # Mon: short bout
    (0, 60, 35, 1, 0, "break", 90.0),  # Mon: answered in 90 s -> met
    (1, 0, 45, 2, 1, "break", 700.0),  # Tue: snoozed, up after 700 s > 300 s -> over
    (2, 0, 31, 1, 0, "break", 20.0),  # Wed: answered -> met
    (3, 0, 34, 0, 0, "break", None),  # Thu: paused bout, up within limit + 5 min -> met
    (4, 0, 32, 1, 0, "break", 60.0),  # Fri: answered -> met
    (4, 120, 10, 0, 0, "break", None),  # Fri: short bout
    (4, 200, 38, 1, 0, "offline", None),  # Fri: the chair went away -> over
]


def _facts(desk: str = "p1") -> list[BoutEnded]:
    out = []
    for day, at, minutes, alerts, snoozes, ended_by, responded in WEEK:
        date = MONDAY + dt.timedelta(days=day)
        start = dt.datetime.combine(date, dt.time(9, 0), tzinfo=dt.UTC).timestamp() + at * MIN
        level = alerts
        out.append(
            BoutEnded(
                desk, start, start + minutes * MIN, ended_by, alerts, snoozes, level, responded
            )  # type: ignore[arg-type]
        )
    return out


def _config(path, state_dir, history_lines=""):
    path.write_text(f'state_dir = "{state_dir}"\n[history]\n{history_lines}\n[desks.p1]\n')
    return path


def _breaks(capsys, path, day):
    code = cli.main(["report", "-c", str(path), "--day", day.isoformat(), "--json", "--breaks"])
    out = capsys.readouterr().out
    assert code == 0
    (found,) = json.loads(out)["breaks"]
    return found


def _check_week(capsys, path):
    fri = _breaks(capsys, path, FRIDAY)
    today = fri["today"]
    assert today["bouts"] == 3
    assert today["limit_bouts"] == 2
    assert today["over_limit"] == 1
    assert today["alerts"] == 2
    assert today["alerted_bouts"] == 2
    assert today["breaks_after_alert"] == 1
    assert today["responded_s"] == [60.0]
    assert today["compliance"] == 0.5
    assert today["longest_s"] == pytest.approx(38 * MIN)
    assert today["met_goal"] is False
    assert fri["streak"] == 0  # Friday had a bout over the limit
    assert fri["week"] == {
        "week": fri["week"]["week"],
        "working_days": 5,
        "met_days": 3,
        "needed": 4,
        "met": False,
    }
    assert [d["bouts"] for d in fri["last7"]] == [0, 0, 2, 1, 1, 1, 3]
    thu = _breaks(capsys, path, FRIDAY - dt.timedelta(days=1))
    assert thu["today"]["compliance"] == 1.0
    assert thu["streak"] == 2  # Thursday and Wednesday; Tuesday broke it
    tue = _breaks(capsys, path, MONDAY + dt.timedelta(days=1))
    assert tue["today"]["snoozes"] == 1
    assert tue["today"]["over_limit"] == 1
    assert tue["today"]["compliance"] == 0.0
    assert tue["streak"] == 0
    mon = _breaks(capsys, path, MONDAY)
    assert mon["streak"] == 1
    assert mon["today"]["median_responded_s"] == 90.0


def test_accounting_from_the_local_spool(tmp_path, capsys):
    cfg = make_cfg(tmp_path / "state", desks={"p1": {}})
    history = History(cfg)
    history.start()
    try:
        for fact in _facts():
            history.record(fact)
    finally:
        history.close()
    path = _config(tmp_path / "sitless.toml", tmp_path / "state")
    _check_week(capsys, path)
    code = cli.main(["report", "-c", str(path), "--day", FRIDAY.isoformat(), "--breaks"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].split() == ["p1", "2", "1", "2", "1", "60s", "50%", "3/4", "0"]


def test_accounting_from_influxdb(influxd, tmp_path, capsys):
    influxd.create_database("breaks")
    cfg = make_cfg(
        tmp_path / "state", desks={"p1": {}}, api="v1", url=influxd.url, database="breaks"
    )
    history = History(cfg)
    history.start()
    try:
        for fact in _facts():
            history.record(fact)
        wait_drained(history)
    finally:
        history.close()
    lines = f'api = "v1"\nurl = "{influxd.url}"\ndatabase = "breaks"'
    _check_week(capsys, _config(tmp_path / "influx.toml", tmp_path / "state", lines))


def test_the_goal_and_the_streak_rules():
    rules = Rules()
    days: dict[str, DayAccount] = {}
    for offset in range(5):
        date = (MONDAY + dt.timedelta(days=offset)).isoformat()
        day = days[date] = DayAccount("p1", date)
        responded = 400.0 if offset == 2 else 30.0  # Wednesday answered too late
        add_bout(day, Bout("p1", 0.0, 31 * MIN, 1, 0, "break", responded), rules)
    workdays = ("mon", "tue", "wed", "thu", "fri")
    assert week_goal(days, MONDAY, workdays).met  # 4 of 5
    assert streak(days, FRIDAY, workdays) == 2
    saturday = FRIDAY + dt.timedelta(days=1)
    assert streak(days, saturday, workdays) == 2  # the weekend neither counts nor breaks
    days.pop((MONDAY + dt.timedelta(days=3)).isoformat())  # Thursday at home: skipped
    assert streak(days, FRIDAY, workdays) == 1  # Friday, then Wednesday was late
    assert not week_goal(days, MONDAY, workdays).met  # 3 of 5
