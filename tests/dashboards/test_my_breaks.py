"""The personal dashboard's break accounting, against the hand-worked week of the accounting test.

Real: influxd (InfluxDB 1.x), the hub's History writing the week's bouts to
it (with the verdict it stores on each ``sitting_bout``), the shipped
my-sitting dashboard, and ``sitless report --breaks`` reading the same
database. Stood in: Grafana (tests/dashboards/grafana_runner.py runs the
queries as its InfluxDB datasource would) and the hub core (the week is the
list of ``BoutEnded`` facts in tests/personal/test_accounting.py, at the real
defaults: 30 min limit, 5 min escalation). The expected figures are the ones
worked out by hand there; the report must agree with every panel.
"""

from __future__ import annotations

import datetime as dt

import pytest

from hub.history import History
from tests.dashboards.breaks_board import day_range, figures
from tests.history.helpers import make_cfg, wait_drained
from tests.personal.test_accounting import FRIDAY, MIN, MONDAY, _breaks, _config, _facts

DATABASE = "dashboards_breaks"


@pytest.fixture(scope="module")
def week(influxd, tmp_path_factory):
    influxd.create_database(DATABASE)
    state = tmp_path_factory.mktemp("breaks-week")
    cfg = make_cfg(state, desks={"p1": {}}, api="v1", url=influxd.url, database=DATABASE)
    history = History(cfg)
    history.start()
    try:
        for fact in _facts():
            history.record(fact)
        assert wait_drained(history)["dead_letters"] == 0
    finally:
        history.close()
    lines = f'api = "v1"\nurl = "{influxd.url}"\ndatabase = "{DATABASE}"'
    return influxd, _config(state / "sitless.toml", state, lines)


def _day(offset: int) -> dt.date:
    return MONDAY + dt.timedelta(days=offset)


def test_friday_on_the_dashboard(week):
    """Friday: 3 bouts, 2 alerted, one answered in 60 s, one ended by the chair going away."""
    influxd, _ = week
    got = figures(influxd, DATABASE, "p1", day_range(FRIDAY))
    assert got["seated_s"] == (32 + 10 + 38) * MIN
    assert got["longest_s"] == 38 * MIN
    assert got["over_limit"] == 1
    assert (got["taken"], got["prompted"]) == (1, 2)
    assert got["responded"] == {"median": 60.0, "average": 60.0, "slowest": 60.0}
    assert got["snoozes"] == 0
    assert got["compliance"] == 0.5
    assert got["streak"] == 0  # Friday had a bout over the limit
    assert got["goal_days"] == 3  # Monday, Wednesday, Thursday
    midnight = {
        offset: int(dt.datetime.combine(_day(offset), dt.time(0), tzinfo=dt.UTC).timestamp()) * 1000
        for offset in range(5)
    }
    assert got["compliance_days"] == {
        midnight[0]: 1.0,
        midnight[1]: 0.0,
        midnight[2]: 1.0,
        midnight[3]: 1.0,  # the paused bout, up within limit + 5 min
        midnight[4]: 0.5,
    }


@pytest.mark.parametrize(
    ("offset", "compliance", "streak", "snoozes"),
    [(0, 1.0, 1, 0), (1, 0.0, 0, 1), (2, 1.0, 1, 0), (3, 1.0, 2, 0)],
    ids=["monday", "tuesday", "wednesday", "thursday"],
)
def test_each_day_on_the_dashboard(week, offset, compliance, streak, snoozes):
    influxd, _ = week
    got = figures(influxd, DATABASE, "p1", day_range(_day(offset)))
    assert got["compliance"] == compliance
    assert got["streak"] == streak
    assert got["snoozes"] == snoozes


@pytest.mark.parametrize("offset", range(5), ids=["mon", "tue", "wed", "thu", "fri"])
def test_the_dashboard_and_the_report_agree(week, capsys, offset):
    """Every figure both show is the same number on the dashboard and in the report."""
    influxd, config = week
    day = _day(offset)
    report = _breaks(capsys, config, day)
    today = report["today"]
    got = figures(influxd, DATABASE, "p1", day_range(day))
    assert got["over_limit"] == today["over_limit"]
    assert got["taken"] == today["breaks_after_alert"]
    assert got["prompted"] == today["alerted_bouts"]
    assert got["snoozes"] == today["snoozes"]
    assert got["longest_s"] == today["longest_s"]
    assert got["compliance"] == today["compliance"]
    assert got["streak"] == report["streak"]
    median = None if got["responded"] is None else got["responded"]["median"]
    assert median == today["median_responded_s"]
