"""Working hours: when a desk may be alerted. History is recorded at all hours.

A window is ``start`` to ``end`` local time on the listed days, in the
schedule's own timezone, so daylight-saving changes move the window with the
wall clock. A window whose end is before its start runs overnight and belongs
to the day it starts on.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Final

from hub.config import HubConfig, ScheduleConfig
from hub.contract.vocabulary import WEEKDAYS

DAY_NAMES: Final = WEEKDAYS
_LOOKAHEAD_DAYS: Final = 8


def _clock(text: str) -> dt.timedelta:
    """``"09:30"`` (or ``"24:00"``) as an offset from midnight."""
    if text == "24:00":
        return dt.timedelta(hours=24)
    parsed = dt.time.fromisoformat(text)
    return dt.timedelta(hours=parsed.hour, minutes=parsed.minute, seconds=parsed.second)


class WorkingHours:
    """Answers "may we alert at this instant?" and "when may we next?" for one schedule."""

    def __init__(self, cfg: ScheduleConfig) -> None:
        self.zone = zoneinfo.ZoneInfo(cfg.timezone)
        self.days = frozenset(DAY_NAMES.index(day) for day in cfg.days)
        self.start = _clock(cfg.start)
        self.end = _clock(cfg.end)
        self.overnight = self.end <= self.start

    def _window(self, day: dt.date) -> tuple[float, float]:
        """Unix start and end of the window that starts on this local date."""
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self.zone)
        wrap = dt.timedelta(days=1) if self.overnight else dt.timedelta()
        length = self.end - self.start + wrap
        opens = _wall(midnight, self.start, self.zone)
        closes = _wall(midnight, self.start + length, self.zone)
        return opens, closes

    def _windows_around(self, ts: float) -> list[tuple[float, float]]:
        today = dt.datetime.fromtimestamp(ts, self.zone).date()
        out = []
        for offset in range(-1, _LOOKAHEAD_DAYS):
            day = today + dt.timedelta(days=offset)
            if day.weekday() in self.days:
                out.append(self._window(day))
        return out

    def is_open(self, ts: float) -> bool:
        """Whether alerts are allowed at this unix time."""
        return any(opens <= ts < closes for opens, closes in self._windows_around(ts))

    def next_open(self, ts: float) -> float | None:
        """The first instant at or after ts when alerts are allowed, or None if never (no days)."""
        starts = [max(opens, ts) for opens, closes in self._windows_around(ts) if closes > ts]
        return min(starts) if starts else None


def _wall(midnight: dt.datetime, offset: dt.timedelta, zone: zoneinfo.ZoneInfo) -> float:
    """Local wall-clock time ``offset`` after a local midnight, as unix seconds.

    Adding to a naive local time (not to the aware instant) keeps "09:00" at
    nine on the clock across a daylight-saving change.
    """
    naive = midnight.replace(tzinfo=None) + offset
    return naive.replace(tzinfo=zone).timestamp()


def for_desk(cfg: HubConfig, desk_id: str) -> WorkingHours | None:
    """The desk's own schedule, else its site's, else the global one, else none (always open)."""
    desk = cfg.desk(desk_id)
    chosen = desk.schedule or cfg.sites.get(desk.site) or cfg.schedule
    return WorkingHours(chosen) if chosen is not None else None
