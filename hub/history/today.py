"""Today's sitting per desk, tallied from the facts the hub already hands to its history.

``TodayTally`` sits between the service and its history sink: it passes every
fact and sample through unchanged and keeps, per desk, today's finished bouts,
their total and longest length, and the alerts sent. ``TodaySource`` lays those
numbers over another status source, so the page's details show today's
sitting without a query to the spool or InfluxDB. The day is the local day
in the given timezone; a bout counts for the day it ended.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import zoneinfo
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Protocol

from hub.core.facts import AlertSent, BoutEnded, DeskSample, Fact
from hub.web.source import TICKING_STATES, DeskView, StatusSource, changes_of


class Sink(Protocol):
    """The history sink the tally forwards to (``hub.history.History`` fits)."""

    def record(self, fact: Fact) -> None:
        """Keep one fact."""

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        """Keep one sample of every desk."""

    def start(self) -> None:
        """Begin."""

    def close(self) -> None:
        """Finish."""


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One desk's day so far (finished bouts only)."""

    day: dt.date
    seated_s: float = 0.0
    bouts: int = 0
    longest_s: float = 0.0
    alerts: int = 0


class TodayTally:
    """A pass-through history sink that counts today's bouts and alerts per desk."""

    def __init__(self, inner: Sink, timezone: str = "UTC") -> None:
        self.inner = inner
        self._tz = zoneinfo.ZoneInfo(timezone)
        self._lock = threading.Lock()
        self._desks: dict[str, DayTotals] = {}
        self._span: tuple[float, float, dt.date] = (0.0, 0.0, dt.date.min)

    def _day(self, ts: float) -> dt.date:
        # A time zone conversion costs microseconds, and a rush records thousands of facts
        # of the same day: the day last found is kept with its bounds in UTC seconds.
        start, end, day = self._span
        if start <= ts < end:
            return day
        local = dt.datetime.fromtimestamp(ts, self._tz)
        day = local.date()
        midnight = dt.datetime.combine(day, dt.time(), self._tz)
        following = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self._tz)
        self._span = (midnight.timestamp(), following.timestamp(), day)
        return day

    def day_of(self, ts: float) -> dt.date:
        """The tally's day (in its time zone) that holds ``ts``."""
        return self._day(ts)

    def _current(self, desk: str, day: dt.date) -> DayTotals:
        totals = self._desks.get(desk)
        return totals if totals is not None and totals.day == day else DayTotals(day)

    def record(self, fact: Fact) -> None:
        """Tally bouts and alerts, then hand the fact on."""
        if isinstance(fact, BoutEnded):
            day = self._day(fact.end)
            with self._lock:
                now = self._current(fact.desk, day)
                self._desks[fact.desk] = replace(
                    now,
                    seated_s=now.seated_s + fact.duration_s,
                    bouts=now.bouts + 1,
                    longest_s=max(now.longest_s, fact.duration_s),
                )
        elif isinstance(fact, AlertSent) and not fact.acked:  # an ack is the same alert again
            day = self._day(fact.ts)
            with self._lock:
                now = self._current(fact.desk, day)
                self._desks[fact.desk] = replace(now, alerts=now.alerts + 1)
        self.inner.record(fact)

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        """Pass samples through."""
        self.inner.sample(ts, samples)

    def start(self) -> None:
        """Start the inner sink."""
        self.inner.start()

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """The inner sink's batch (one spool commit per batch of messages), when it has one."""
        with getattr(self.inner, "batch", contextlib.nullcontext)():
            yield

    def close(self) -> None:
        """Close the inner sink."""
        self.inner.close()

    def today(self, desk: str, now: float) -> DayTotals:
        """The desk's totals for the day that contains ``now``."""
        with self._lock:
            return self._current(desk, self._day(now))


class TodaySource:
    """Another status source with today's totals filled in (the running bout included)."""

    def __init__(self, inner: StatusSource, tally: TodayTally) -> None:
        self.inner = inner
        self.tally = tally
        self._day: dt.date | None = None

    def snapshot(self) -> list[DeskView]:
        """The inner snapshot, each desk with today's sitting."""
        now = dt.datetime.now(dt.UTC).timestamp()
        return [self._with_today(view, now) for view in self.inner.snapshot()]

    def changed_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskView]]:
        """The inner source's changes, with today's sitting; every desk again when a day begins.

        Today's totals move when a bout ends or an alert goes out, which
        moves the desk's mark too; only a new day moves them on its own.
        """
        now = dt.datetime.now(dt.UTC).timestamp()
        day = self.tally.day_of(now)
        if day != self._day:
            self._day, marks = day, {}
        now_marks, views = changes_of(self.inner, marks)
        return now_marks, [self._with_today(view, now) for view in views]

    def _with_today(self, view: DeskView, now: float) -> DeskView:
        day = self.tally.today(view.desk, now)
        ticking = view.state in TICKING_STATES
        running = view.seated_s if ticking else 0.0
        return replace(
            view,
            today_seated_s=day.seated_s + running,
            today_bouts=day.bouts + (1 if ticking else 0),
            longest_bout_s=max(day.longest_s, running),
            today_alerts=day.alerts,
        )

    def counters(self) -> Mapping[str, float]:
        """The inner counters."""
        return self.inner.counters()

    def pause(self, desk: str) -> None:
        """Pass pausing through when the inner source can pause."""
        pause = getattr(self.inner, "pause", None)
        if pause is None:
            raise KeyError("this hub cannot pause desks")
        pause(desk)
