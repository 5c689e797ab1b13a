"""The personal dashboard's streak and goal days count the schedule's working days, as the report.

Real: influxd (InfluxDB 1.x), the hub's History writing the bouts to it (with
the ``workday`` flag it stores on each ``sitting_bout``), the shipped
my-sitting dashboard, and ``sitless report --breaks`` reading the same
database with the same configuration. Stood in: Grafana
(tests/dashboards/grafana_runner.py runs the queries as its InfluxDB
datasource would) and the hub core (the bouts are ``BoutEnded`` facts at the
real defaults: 30 min limit, 5 min escalation).

The days: Thursday and Friday met the goal, Saturday had a bout over the
limit, Sunday and Monday met it again. Desk p1 works Monday to Friday (the
default), so its weekend is skipped: the streak on Monday is Thursday, Friday
and Monday. Desk p2's own schedule includes Saturday, so Saturday's bout ends
its streak. Every expected figure is worked out here by hand.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from hub import cli, config
from hub.contract.vocabulary import WEEKDAYS
from hub.core.facts import BoutEnded
from hub.history import History
from tests.dashboards.breaks_board import day_range, figures
from tests.history.helpers import wait_drained

DATABASE = "dashboards_working_days"
MIN = 60.0
TODAY = dt.datetime.now(dt.UTC).date()
THURSDAY = TODAY - dt.timedelta(days=TODAY.weekday() + 4)  # of the week before this one
SATURDAY = THURSDAY + dt.timedelta(days=2)
SUNDAY = THURSDAY + dt.timedelta(days=3)
MONDAY = THURSDAY + dt.timedelta(days=4)  # this week's, today or before

# (day, minutes seated, alerts, responded_s): 35 min up 60 s after the alert meets the goal;
# 45 min up 700 s after the first of two alerts (more than 5 min) is a bout over the limit.
BOUTS = [
    (THURSDAY, 35, 1, 60.0),
    (THURSDAY + dt.timedelta(days=1), 35, 1, 60.0),
    (SATURDAY, 45, 2, 700.0),
    (SUNDAY, 35, 1, 60.0),
    (MONDAY, 35, 1, 60.0),
]
# Hand-worked: (day, desk) -> (streak, goal days of the 7 up to that day).
EXPECTED = {
    (SATURDAY, "p1"): (2, 2),  # Thursday, Friday; Saturday is a day off
    (SUNDAY, "p1"): (2, 2),
    (MONDAY, "p1"): (3, 3),  # Thursday, Friday, Monday
    (SATURDAY, "p2"): (0, 2),  # Saturday is p2's working day, over the limit
    (SUNDAY, "p2"): (0, 2),  # Sunday is not: it neither counts nor mends the streak
    (MONDAY, "p2"): (1, 3),
}


def _facts() -> list[BoutEnded]:
    out = []
    for day, minutes, alerts, responded in BOUTS:
        start = dt.datetime.combine(day, dt.time(9, 0), tzinfo=dt.UTC).timestamp()
        end = start + minutes * MIN
        out += [
            BoutEnded(desk, start, end, "break", alerts, 0, alerts, responded)
            for desk in ("p1", "p2")
        ]
    return out


@pytest.fixture(scope="module")
def recorded(influxd, tmp_path_factory):
    influxd.create_database(DATABASE)
    state = tmp_path_factory.mktemp("working-days")
    path = state / "sitless.toml"
    path.write_text(
        f'state_dir = "{state}"\n'
        f'[history]\napi = "v1"\nurl = "{influxd.url}"\ndatabase = "{DATABASE}"\n'
        "[desks.p1]\n"
        '[desks.p2.schedule]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat"]\n'
    )
    history = History(config.load(path))
    history.start()
    try:
        for fact in _facts():
            history.record(fact)
        assert wait_drained(history)["dead_letters"] == 0
    finally:
        history.close()
    return influxd, path


def _report(capsys, path, day: dt.date, desk: str) -> dict:
    args = ["report", "-c", str(path), "--day", day.isoformat(), "--desk", desk]
    code = cli.main([*args, "--json", "--breaks"])
    out = capsys.readouterr().out
    assert code == 0
    (found,) = json.loads(out)["breaks"]
    return found


@pytest.mark.parametrize(
    ("day", "desk"), list(EXPECTED), ids=[f"{day:%a}-{desk}" for day, desk in EXPECTED]
)
def test_streak_and_goal_days_count_working_days(recorded, capsys, day, desk):
    """The dashboard's streak and goal days are the hand-worked ones, and the report's."""
    influxd, path = recorded
    got = figures(influxd, DATABASE, desk, day_range(day))
    streak, goal_days = EXPECTED[day, desk]
    assert (got["streak"], got["goal_days"]) == (streak, goal_days)
    report = _report(capsys, path, day, desk)
    assert report["streak"] == got["streak"]
    workdays = WEEKDAYS[:6] if desk == "p2" else WEEKDAYS[:5]
    met = [
        d
        for d in report["last7"]
        if d["met_goal"] and WEEKDAYS[dt.date.fromisoformat(d["day"]).weekday()] in workdays
    ]
    assert len(met) == got["goal_days"]
