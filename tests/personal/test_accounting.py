"""Break accounting over a scripted week and a scripted day, from the spool and from InfluxDB.

The week. Real: History writing the bouts into its SQLite spool and through to
influxd (started by the shared fixture on a free loopback port), the
``sitless report --breaks`` command line in-process, the accounting reading
both stores. Stood in: the hub core; the week is a list of finished bouts
(``BoutEnded`` facts) as the core reports them, at the real defaults (30 min
limit, 5 min escalation).

The day (the last test). Real: the whole hub as a process, mosquitto,
influxd, the status page and the dashboard's queries; stood in: the hub's
clock and the chair's hardware (see the comment above that test).

Every expected figure is worked out by hand below, not by the accounting code.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
import uuid
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import pytest

from hub import cli
from hub.core.facts import BoutEnded
from hub.history import History
from hub.history.accounting import Bout, DayAccount, Rules, add_bout, streak, week_goal
from tests.dashboards.breaks_board import day_range, figures
from tests.history.helpers import make_cfg, wait_drained
from tests.personal import dayscript
from tests.support.clockedhub import ClockedHub, set_clock
from tests.support.servers import LOOPBACK, free_port

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


# --- a scripted working day through the running hub ------------------------------------------
#
# Real: the ``sitless hub`` process (tests/support/clockedhub.py), the session mosquitto and
# influxd, the hub's status page, the chair as a real MQTT client (tests/personal/dayscript.py),
# ``sitless report --breaks`` and the personal dashboard's queries. Stood in: the hub's clock
# (set by the test before each step) and the chair's hardware. Real defaults: 30 min limit,
# 2 min break, 5 min escalation, 10 min snooze, 1 h pause.
#
# Worked out by hand from tests/personal/dayscript.py.DAY (minutes):
#   B1 20 (no alert) | B2 31.5, 1 alert, up in 90 s | B3 43, 2 alerts, 1 snooze, up in 780 s
#   B4 34, paused, no alert | B5 47, 4 alerts, up in 1020 s | B6 32.5, 2 alerts, up in 60 s
#   B7 64, 4 alerts, 3 snoozes, up in 2040 s | B8 32, 1 alert, up in 120 s
DAY_ALERTS = [1, 1, 2, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 1]  # the levels the hub must send, in order
DAY_EXPECTED = {
    "bouts": 8,
    "limit_bouts": 7,  # all but B1
    "over_limit": 3,  # B3, B5 and B7 stood up more than 5 min after the first alert
    "answered": 4,  # B2, B4 (no alert, up by 35 min), B6, B8
    "alerts": 14,
    "alerted_bouts": 6,  # B2, B3, B5, B6, B7, B8
    "breaks_after_alert": 6,
    "responded_s": [90.0, 780.0, 1020.0, 60.0, 2040.0, 120.0],
    "median_responded_s": 450.0,  # between 120 and 780
    "snoozes": 4,
    "longest_s": 64 * MIN,
    "compliance": 4 / 7,
    "met_goal": False,
}
DAY_SEATED_S = (20 + 31.5 + 43 + 34 + 47 + 32.5 + 64 + 32) * MIN


def _evening_zone(now: float) -> tuple[str, dt.date]:
    """A fixed-offset zone where it is now between 18:00 and 23:00, and that local date.

    So the scripted day (08:30 to 17:00 local) lies wholly in the past, within the
    24 h the hub trusts a chair's clock, and is "today" for the report and the page.
    """
    for hours in range(-12, 15):
        name = f"Etc/GMT{-hours:+d}"  # POSIX sign: Etc/GMT-5 is five hours ahead of UTC
        local = dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(name))
        if 18 <= local.hour < 23:
            return name, local.date()
    raise AssertionError("some offset always puts now in the evening")


def _wait_report(capsys, path, day, bouts):
    """The report's standing once the hub's writer has delivered every bout (bounded)."""
    deadline = time.monotonic() + 60
    while True:
        found = _breaks(capsys, path, day)
        if found["today"]["bouts"] >= bouts or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@dataclass
class DayHub:
    """The running hub of the scripted day, and where to look at it."""

    hub: ClockedHub
    config: Path
    clock: Path
    port: int
    prefix: str
    database: str
    zone: str
    day: dt.date


@pytest.fixture
def day_hub(mosquitto, influxd, prefix, tmp_path):
    zone, day = _evening_zone(time.time())
    database = f"day_{uuid.uuid4().hex[:8]}"
    influxd.create_database(database)
    port = free_port()
    clock = tmp_path / "clock"
    set_clock(clock, dayscript.at(day, "08:00:00", zoneinfo.ZoneInfo(zone)))
    config = tmp_path / "hub.toml"
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        f'[mqtt]\nurl = "{mosquitto.url}"\nprefix = "{prefix}"\n'
        f'client_id = "hub-{uuid.uuid4().hex[:10]}"\n'
        f'[schedule]\ntimezone = "{zone}"\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\n'
        f'[history]\napi = "v1"\nurl = "{influxd.url}"\ndatabase = "{database}"\n'
        f"[status]\nenabled = true\nport = {port}\n[desks.p1]\n"
    )
    hub = ClockedHub(config, tmp_path / "hub.log", clock)
    hub.start()
    try:
        yield DayHub(hub, config, clock, port, prefix, database, zone, day)
    finally:
        hub.terminate()
    assert "Traceback" not in hub.log_text()


@pytest.mark.slow
def test_a_scripted_day_through_the_running_hub(day_hub, influxd, probe, capsys):
    """The day's figures in the report, on the personal page and on the dashboard."""
    prefix, day, zone, port = day_hub.prefix, day_hub.day, day_hub.zone, day_hub.port
    tz = zoneinfo.ZoneInfo(zone)
    probe.subscribe(f"{prefix}/_hub/status")
    probe.wait_topic(f"{prefix}/_hub/status", 30, where=lambda body: body == "online")
    chair = dayscript.ScriptedChair(probe, prefix, "p1")
    dayscript.play(chair, day_hub.clock, day, tz)
    assert chair.alerts == DAY_ALERTS

    found = _wait_report(capsys, day_hub.config, day, DAY_EXPECTED["bouts"])
    today = found["today"]
    for key, want in DAY_EXPECTED.items():
        assert today[key] == pytest.approx(want), key
    assert found["streak"] == 0  # today had bouts over the limit
    assert found["week"]["met_days"] == 0

    with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/api/me?desk=p1", timeout=10) as r:
        me = json.loads(r.read())
    assert me["desk"]["today_seated_s"] == pytest.approx(DAY_SEATED_S)
    assert me["desk"]["longest_bout_s"] == pytest.approx(64 * MIN)
    assert me["breaks"]["today"] == today  # the page shows the report's numbers
    assert me["breaks"]["streak"] == 0

    board = figures(influxd, day_hub.database, "p1", day_range(day, tz), timezone=zone)
    assert board["seated_s"] == pytest.approx(DAY_SEATED_S)
    assert board["longest_s"] == pytest.approx(64 * MIN)
    assert board["over_limit"] == DAY_EXPECTED["over_limit"]
    assert (board["taken"], board["prompted"]) == (6, 6)
    assert board["alerts"] == DAY_EXPECTED["alerts"]
    assert board["snoozes"] == 4
    assert board["responded"]["median"] == 450.0
    assert board["compliance"] == pytest.approx(4 / 7)
    assert board["streak"] == 0
    assert board["goal_days"] == 0
    midnight = int(dt.datetime.combine(day, dt.time(0), tzinfo=tz).timestamp()) * 1000
    assert board["compliance_days"] == {midnight: pytest.approx(4 / 7)}
