"""The break accounting as the personal dashboard shows it, read panel by panel.

Shared by the dashboard test over the hand-worked week and by the scripted
day through the running hub, so both compare the same panels with the
numbers they expect.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hub.integrations.grafana.expand import TimeRange
from tests.dashboards.expected import BOARDS, MIN_INTERVAL
from tests.dashboards.grafana_runner import DashboardRun, QueryFailedError
from tests.support.servers import Influxd


def day_range(day: dt.date, tz: dt.tzinfo = dt.UTC) -> TimeRange:
    """Grafana's "today" for ``day``: local midnight to the last millisecond of the day."""
    start = dt.datetime.combine(day, dt.time(0, 0), tzinfo=tz)
    end = start + dt.timedelta(days=1)
    return TimeRange(int(start.timestamp() * 1000), int(end.timestamp() * 1000) - 1)


def _one(run: DashboardRun, title: str, column: str) -> Any:
    """The single value a stat panel's query A returns, None when it returns no row."""
    try:
        series = run.single(title)
    except QueryFailedError:
        return None
    (value,) = series.column(column)
    return value


def _counted(run: DashboardRun, title: str, ref: str, column: str) -> int:
    """A count one target of a panel returns; InfluxDB gives no row for a count of nothing."""
    panel = run.panel(title)
    target = next(t for t in panel["targets"] if t["refId"] == ref)
    try:
        (series,) = run.query(panel, target)[1]
    except QueryFailedError:
        return 0
    (value,) = series.column(column)
    return int(value)


def figures(
    influxd: Influxd, database: str, desk: str, time_range: TimeRange, timezone: str = "UTC"
) -> dict[str, Any]:
    """Each accounting figure of the personal dashboard for one desk over one range."""
    run = DashboardRun(
        influxd,
        database,
        BOARDS["my-sitting"],
        time_range,
        min_interval=MIN_INTERVAL,
        chosen={"desk": [desk], "timezone": [timezone]},
    )
    taken = _counted(run, "Breaks taken vs prompted", "A", "taken")
    prompted = _counted(run, "Breaks taken vs prompted", "B", "prompted")
    responded = None
    try:
        answered = run.single("Time to stand up after an alert")
        responded = {c: answered.column(c)[0] for c in ("median", "average", "slowest")}
    except QueryFailedError:
        pass
    compliance_days = {}
    try:
        week = run.single("Week: compliance per day")
        compliance_days = dict(zip(week.column("time"), week.column("compliance"), strict=True))
    except QueryFailedError:
        pass
    return {
        "seated_s": _one(run, "Sitting time", "sum"),
        "longest_s": _one(run, "Longest bout", "max"),
        "over_limit": _one(run, "Bouts over the limit", "over the limit"),
        "taken": taken,
        "prompted": prompted,
        "alerts": _one(run, "Alerts", "count"),
        "snoozes": _one(run, "Snoozes", "sum"),
        "responded": responded,
        "compliance": _one(run, "Compliance", "compliance"),
        "streak": _one(run, "Streak", "streak"),
        "goal_days": _one(run, "Goal days in the last 7", "goal days"),
        "compliance_days": compliance_days,
    }
