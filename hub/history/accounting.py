"""Break accounting: per desk and day, how the alerts went, from the stored ``sitting_bout`` points.

Every figure is computed from the bouts the history already keeps (their
length, alerts, snoozes, how they ended and ``responded_s``), so the local
spool and InfluxDB give the same answer. A bout belongs to the local day it
started on, as in ``sitless report``. The definitions are in docs/history.md.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from hub.config import HistoryConfig, HubConfig
from hub.contract.vocabulary import WEEKDAYS
from hub.errors import HistoryError
from hub.history.summary import _per_desk_database, _query, influxql_string
from hub.history.verdict import Rules, day_zone, judge, rules_for, workdays_for

GOAL_DAYS: Final = 4
"""Working days of a week that must meet the goal (of the schedule's working days, 5 by default)."""
_BOUT_QUERY: Final = (
    'SELECT "duration_s", "alerts", "snoozes", "responded_s", "ended_by", "desk" '
    'FROM "sitting_bout" WHERE {where}'
)


@dataclass(frozen=True, slots=True)
class Bout:
    """One stored bout, as accounting needs it."""

    desk: str
    start: float
    duration_s: float
    alerts: int
    snoozes: int
    ended_by: str
    responded_s: float | None


@dataclass
class DayAccount:
    """One desk's day of breaks."""

    desk: str
    day: str
    bouts: int = 0
    limit_bouts: int = 0
    over_limit: int = 0
    alerts: int = 0
    alerted_bouts: int = 0
    breaks_after_alert: int = 0
    responded_s: list[float] = field(default_factory=list)
    snoozes: int = 0
    longest_s: float = 0.0
    answered: int = 0

    @property
    def compliance(self) -> float | None:
        """Share of limit-length bouts that ended in a real break in time (None without any)."""
        return None if not self.limit_bouts else self.answered / self.limit_bouts

    @property
    def median_responded_s(self) -> float | None:
        """The middle of the response times (None without a break after an alert)."""
        if not self.responded_s:
            return None
        values = sorted(self.responded_s)
        mid = len(values) // 2
        return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2

    @property
    def met_goal(self) -> bool:
        """A day with sitting and no bout over the limit."""
        return self.bouts > 0 and self.over_limit == 0

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON, the derived figures included."""
        body = asdict(self)
        body["compliance"] = self.compliance
        body["median_responded_s"] = self.median_responded_s
        body["met_goal"] = self.met_goal
        return body


def add_bout(day: DayAccount, bout: Bout, rules: Rules) -> None:
    """Count one bout into its day."""
    day.bouts += 1
    day.alerts += bout.alerts
    day.snoozes += bout.snoozes
    day.longest_s = max(day.longest_s, bout.duration_s)
    real_break = bout.ended_by == "break"
    if bout.alerts:
        day.alerted_bouts += 1
        if real_break and bout.responded_s is not None:
            day.breaks_after_alert += 1
            day.responded_s.append(bout.responded_s)
    verdict = judge(bout.duration_s, bout.alerts, bout.ended_by, bout.responded_s, rules)
    if not verdict.limit_bout:
        return
    day.limit_bouts += 1
    if verdict.answered:
        day.answered += 1
    else:
        day.over_limit += 1


def account(
    bouts: Iterable[Bout], rules_of: Any, tz: dt.tzinfo
) -> dict[tuple[str, str], DayAccount]:
    """Every (desk, day) of the bouts; ``rules_of(desk)`` gives that desk's Rules."""
    days: dict[tuple[str, str], DayAccount] = {}
    for bout in bouts:
        name = dt.datetime.fromtimestamp(bout.start, tz).date().isoformat()
        key = (bout.desk, name)
        day = days.get(key)
        if day is None:
            day = days[key] = DayAccount(bout.desk, name)
        add_bout(day, bout, rules_of(bout.desk))
    return days


@dataclass(frozen=True, slots=True)
class Week:
    """The weekly goal for one desk's ISO week."""

    week: str
    working_days: int
    met_days: int
    needed: int

    @property
    def met(self) -> bool:
        """Whether enough working days met the goal."""
        return self.met_days >= self.needed

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {**asdict(self), "met": self.met}


def week_goal(
    days: dict[str, DayAccount], any_day: dt.date, workdays: Sequence[str], needed: int = GOAL_DAYS
) -> Week:
    """The goal for the ISO week holding ``any_day``: ``needed`` working days with no bout over."""
    monday = any_day - dt.timedelta(days=any_day.weekday())
    met = 0
    for offset in range(7):
        date = monday + dt.timedelta(days=offset)
        if WEEKDAYS[date.weekday()] not in workdays:
            continue
        found = days.get(date.isoformat())
        met += int(found is not None and found.met_goal)
    year, week, _ = any_day.isocalendar()
    return Week(f"{year}-W{week:02d}", len(workdays), met, min(needed, len(workdays)))


def streak(days: dict[str, DayAccount], today: dt.date, workdays: Sequence[str]) -> int:
    """Working days in a row that met the goal, counting back from today.

    A working day without sitting (leave, a day at home) neither counts nor
    breaks the streak; today counts once it meets the goal, and a bout over
    the limit today ends the streak at zero. Non-working days are skipped.
    """
    count = 0
    for offset in range(400):
        date = today - dt.timedelta(days=offset)
        if WEEKDAYS[date.weekday()] not in workdays:
            continue
        found = days.get(date.isoformat())
        if found is None or not found.bouts:
            continue
        if not found.met_goal:
            break
        count += 1
    return count


def bouts_from_spool(path: Path, start_ms: int, end_ms: int, desk: str | None) -> list[Bout]:
    """Stored bouts in [start, end) from the local spool, read only (the hub may be writing)."""
    if not path.exists():
        msg = f"no local history yet: {path} does not exist"
        raise HistoryError(msg)
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        sql = (
            "SELECT key, desk, ts_ms, fields FROM points WHERE measurement = 'sitting_bout' "
            "AND ts_ms >= ? AND ts_ms < ?"
        )
        params: list[Any] = [start_ms, end_ms]
        if desk is not None:
            sql += " AND desk = ?"
            params.append(desk)
        rows = db.execute(sql + " ORDER BY ts_ms, id", params).fetchall()
    except sqlite3.Error as exc:
        msg = f"cannot read the local history at {path}: {exc}"
        raise HistoryError(msg) from exc
    finally:
        db.close()
    out = []
    for key, name, ts_ms, fields_text in rows:
        tags = dict(json.loads(key)[1])
        fields = json.loads(fields_text)
        out.append(_bout(str(name), ts_ms, fields, str(tags.get("ended_by", ""))))
    return out


def bouts_from_influx(
    history: HistoryConfig, start_ms: int, end_ms: int, desk: str | None
) -> list[Bout]:
    """Stored bouts in [start, end) from InfluxDB (InfluxQL), each with its ``ended_by`` tag."""
    where = f"time >= {start_ms}ms AND time < {end_ms}ms"
    if desk is not None:
        where += f' AND "desk" = {influxql_string(desk)}'
    rows = _query(history, _per_desk_database(history), _BOUT_QUERY.format(where=where))
    return [_bout(str(r["desk"]), int(r["time"]), r, str(r.get("ended_by") or "")) for r in rows]


def _bout(desk: str, ts_ms: int, fields: dict[str, Any], ended_by: str) -> Bout:
    responded = fields.get("responded_s")
    return Bout(
        desk,
        ts_ms / 1000.0,
        float(fields.get("duration_s") or 0.0),
        int(fields.get("alerts") or 0),
        int(fields.get("snoozes") or 0),
        ended_by,
        None if responded is None else float(responded),
    )


@dataclass(frozen=True, slots=True)
class Standing:
    """One desk's accounting around a day: that day, the 7 days to it, its week and streak."""

    desk: str
    today: DayAccount
    last7: list[DayAccount]
    week: Week
    streak: int

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON."""
        return {
            "desk": self.desk,
            "today": self.today.as_dict(),
            "last7": [d.as_dict() for d in self.last7],
            "week": self.week.as_dict(),
            "streak": self.streak,
        }


def day_bounds_ms(day: dt.date, tz: zoneinfo.ZoneInfo, days_back: int = 0) -> tuple[int, int]:
    """[start, end) in ms of the local days from ``day - days_back`` to ``day``."""
    first = dt.datetime.combine(day - dt.timedelta(days=days_back), dt.time(0, 0), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0, 0), tzinfo=tz)
    return int(first.timestamp() * 1000), int(end.timestamp() * 1000)


LOOKBACK_DAYS: Final = 60
"""How far back a streak is followed (the local spool keeps 30 days by default)."""


def standings(
    cfg: HubConfig, bouts: Iterable[Bout], day: dt.date, tz: zoneinfo.ZoneInfo, desks: Iterable[str]
) -> list[Standing]:
    """The standing of each desk for ``day`` from bouts covering the lookback before it."""
    per_desk: dict[str, dict[str, DayAccount]] = defaultdict(dict)
    for (desk, name), found in account(bouts, rules_for(cfg), tz).items():
        per_desk[desk][name] = found
    out = []
    for desk in sorted(set(desks) | set(per_desk)):
        days = per_desk.get(desk, {})
        workdays = workdays_for(cfg, desk)
        last7 = []
        for back in range(6, -1, -1):
            date = (day - dt.timedelta(days=back)).isoformat()
            last7.append(days.get(date) or DayAccount(desk, date))
        out.append(
            Standing(
                desk, last7[-1], last7, week_goal(days, day, workdays), streak(days, day, workdays)
            )
        )
    return out


def standing_reader(cfg: HubConfig) -> Any:
    """A function giving one desk's standing for a day as JSON, from the configured store."""
    tz = day_zone(cfg)

    def read(desk: str, day: dt.date) -> dict[str, Any] | None:
        start_ms, end_ms = day_bounds_ms(day, tz, LOOKBACK_DAYS)
        if cfg.history.api == "none":
            path = cfg.state_path(cfg.history.spool)
            bouts = bouts_from_spool(path, start_ms, end_ms, desk) if path.exists() else []
        else:
            bouts = bouts_from_influx(cfg.history, start_ms, end_ms, desk)
        found = standings(cfg, bouts, day, tz, [desk])
        return found[0].as_dict() if found else None

    return read
