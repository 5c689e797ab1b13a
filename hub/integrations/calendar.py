"""A person's calendar: busy events hold alerts back, exactly as a long press does.

A desk may name an ICS address (``http(s)://``) or file. ``Calendar`` fetches
it with a timeout, keeps the last good copy on disk and in memory, and goes on
with that copy when the server is down or sends something that is not a
calendar. ``icalendar`` parses, ``recurring-ical-events`` expands recurrences
with their exceptions (``EXDATE``, moved and cancelled instances) in the
events' own time zones.

Busy means: a timed event that is not ``TRANSP:TRANSPARENT`` and not
``STATUS:CANCELLED``. All-day events (holidays, reminders, "working from
home") do not hold alerts back unless they say ``TRANSP:OPAQUE``.

``CalendarHours`` lays a calendar over the desk's working hours (the core's
``Hours``): alerts are allowed only when the hours are open and no busy event
runs, and the next allowed instant is the end of the meeting. Time still
counts during a meeting; the first alert comes when it ends.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import urllib3

if TYPE_CHECKING:
    import icalendar

logger = logging.getLogger(__name__)

FETCH_TIMEOUT_S: Final = 10.0
REFRESH_S: Final = 900.0
MAX_BYTES: Final = 4 << 20
_HORIZON: Final = dt.timedelta(days=8)
_MAX_CHAIN: Final = 64  # back-to-back meetings followed to the last one's end


class Hours(Protocol):
    """The core's working hours (``hub.core.schedule.WorkingHours`` fits)."""

    def is_open(self, ts: float) -> bool:
        """Whether alerts are allowed at ts."""
        ...

    def next_open(self, ts: float) -> float | None:
        """First instant at or after ts when alerts are allowed."""
        ...


class CalendarError(Exception):
    """A calendar that could not be read; the message names the source, never a secret."""


def _shown(source: str) -> str:
    """The source as logs may show it: no query (a private calendar's key is often there)."""
    return source.split("?", 1)[0]


def parse(text: bytes) -> icalendar.Calendar:
    """An ICS document, or CalendarError."""
    # The parser and its recurrence expander load with the first calendar, not with
    # every hub's start (most have no calendar).
    import icalendar  # noqa: PLC0415

    try:
        found = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        msg = "not an iCalendar document"
        raise CalendarError(msg) from exc
    if not isinstance(found, icalendar.Calendar):
        msg = "not an iCalendar document"
        raise CalendarError(msg)
    return found


def busy_spans(cal: icalendar.Calendar, start: float, end: float) -> list[tuple[float, float]]:
    """Busy (start, end) unix spans overlapping [start, end), sorted."""
    import recurring_ical_events  # type: ignore[import-untyped]  # noqa: PLC0415 - see parse

    lo = dt.datetime.fromtimestamp(start, dt.UTC)
    hi = dt.datetime.fromtimestamp(end, dt.UTC)
    spans = []
    for event in recurring_ical_events.of(cal).between(lo, hi):
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            continue
        transp = str(event.get("TRANSP", "")).upper()
        begin = event.get("DTSTART").dt
        finish = event.get("DTEND").dt if event.get("DTEND") else None
        all_day = not isinstance(begin, dt.datetime)
        if transp == "TRANSPARENT" or (all_day and transp != "OPAQUE"):
            continue
        span = _span(begin, finish, event)
        if span[1] > start and span[0] < end:
            spans.append(span)
    return sorted(spans)


def _span(begin: Any, finish: Any, event: Any) -> tuple[float, float]:
    if not isinstance(begin, dt.datetime):  # an opaque all-day event: local midnight to midnight
        begin = dt.datetime.combine(begin, dt.time(0, 0)).astimezone()
        finish = begin + dt.timedelta(days=1) if finish is None else finish
        if not isinstance(finish, dt.datetime):
            finish = dt.datetime.combine(finish, dt.time(0, 0)).astimezone()
    if finish is None:
        duration = event.get("DURATION")
        finish = begin + (duration.dt if duration is not None else dt.timedelta())
    if begin.tzinfo is None:  # floating time: the hub's own local time
        begin, finish = begin.astimezone(), finish.astimezone()
    return begin.timestamp(), finish.timestamp()


class Calendar:
    """One desk's calendar, fetched at most every ``refresh_s``, last good copy kept."""

    def __init__(  # noqa: PLR0913 - keyword-only knobs with defaults
        self,
        source: str,
        cache: Path | None = None,
        *,
        clock: Callable[[], float] = time.time,
        refresh_s: float = REFRESH_S,
        timeout_s: float = FETCH_TIMEOUT_S,
        background: bool = False,
    ) -> None:
        self.source = source
        self.cache = cache
        self.clock = clock
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self.failures = 0
        self.background = background
        self._fetching: threading.Thread | None = None
        self._lock = threading.Lock()
        self._cal: icalendar.Calendar | None = None
        self._fetched: float | None = None
        self._spans: tuple[float, float, list[tuple[float, float]]] | None = None
        if cache is not None and cache.exists():
            try:
                self._cal = parse(cache.read_bytes())
            except (OSError, CalendarError):
                logger.warning("calendar cache %s is unreadable; fetching anew", cache)

    def _read(self) -> bytes:
        if self.source.startswith(("http://", "https://")):
            http = urllib3.PoolManager(timeout=urllib3.Timeout(total=self.timeout_s), retries=False)
            try:
                resp = http.request("GET", self.source, preload_content=False)
                data = resp.read(MAX_BYTES + 1)
                resp.release_conn()
            except urllib3.exceptions.HTTPError as exc:
                msg = f"cannot fetch {_shown(self.source)}: {type(exc).__name__}"
                raise CalendarError(msg) from exc
            if resp.status != 200:
                msg = f"{_shown(self.source)} answered HTTP {resp.status}"
                raise CalendarError(msg)
        else:
            try:
                data = Path(self.source).read_bytes()
            except OSError as exc:
                msg = f"cannot read the calendar file {self.source}: {exc.strerror}"
                raise CalendarError(msg) from exc
        if len(data) > MAX_BYTES:
            msg = f"{_shown(self.source)} is larger than {MAX_BYTES >> 20} MB"
            raise CalendarError(msg)
        return data

    def refresh(self) -> bool:
        """Fetch now; True if a new copy was taken, False if the last good one stays."""
        now = self.clock()
        try:
            data = self._read()
            cal = parse(data)
        except CalendarError as exc:
            with self._lock:
                self._fetched = now
                self.failures += 1
            logger.warning("calendar: %s; keeping the last good copy", exc)
            return False
        if self.cache is not None:
            tmp = self.cache.with_suffix(".tmp")
            try:
                tmp.write_bytes(data)
                tmp.replace(self.cache)
            except OSError as exc:
                logger.warning("calendar: cannot keep a copy at %s (%s)", self.cache, exc.strerror)
        with self._lock:
            self._cal, self._fetched, self._spans = cal, now, None
        return True

    def _due(self) -> None:
        """Refresh when stale: inline, or on a thread of its own so the caller never waits."""
        if self._fetched is not None and self.clock() - self._fetched < self.refresh_s:
            return
        if not self.background:
            self.refresh()
            return
        with self._lock:
            if self._fetching is not None and self._fetching.is_alive():
                return
            self._fetched = self.clock()  # one attempt per period, even while it runs
            self._fetching = threading.Thread(
                target=self.refresh, name="sitless-calendar", daemon=True
            )
            self._fetching.start()

    def wait(self, timeout_s: float) -> bool:
        """Wait for a fetch running in the background; True when none is left running."""
        self._due()
        with self._lock:
            running = self._fetching
        if running is not None:
            running.join(timeout_s)
            return not running.is_alive()
        return True

    def _current(self, ts: float) -> list[tuple[float, float]]:
        self._due()
        with self._lock:
            cal, spans = self._cal, self._spans
        if cal is None:
            return []
        if spans is not None and spans[0] <= ts and ts + 2 * 86400 <= spans[1]:
            return spans[2]
        lo, hi = ts - 86400, ts + _HORIZON.total_seconds()
        found = busy_spans(cal, lo, hi)
        with self._lock:
            if self._cal is cal:
                self._spans = (lo, hi, found)
        return found

    def busy_until(self, ts: float) -> float | None:
        """The end of the busy time at ts (meetings back to back followed), or None if free."""
        spans = self._current(ts)
        end = None
        point = ts
        for _ in range(_MAX_CHAIN):
            covering = [e for s, e in spans if s <= point < e]
            if not covering:
                break
            end = point = max(covering)
        return end


class CalendarHours:
    """Working hours with a calendar's busy time taken out."""

    def __init__(self, calendar: Calendar, hours: Hours | None = None) -> None:
        self.calendar = calendar
        self.hours = hours

    def is_open(self, ts: float) -> bool:
        """Alerts allowed: inside working hours and not in a busy event."""
        if self.hours is not None and not self.hours.is_open(ts):
            return False
        return self.calendar.busy_until(ts) is None

    def next_open(self, ts: float) -> float | None:
        """The first instant at or after ts in working hours and outside busy events."""
        point: float | None = ts
        for _ in range(_MAX_CHAIN):
            if point is None:
                return None
            if self.hours is not None:
                point = self.hours.next_open(point)
                if point is None:
                    return None
            end = self.calendar.busy_until(point)
            if end is None:
                return point
            point = end
        return point
