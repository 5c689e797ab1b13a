"""Calendar-aware pause: a week with a recurring meeting, its exceptions, all-day events, zones.

Real: icalendar and recurring-ical-events reading ICS text, the hub core's
pure sitting state machine (``hub.core.sitting.Desk``) at the real defaults
(30 min limit, 5 min escalation) with the calendar laid over its working
hours, an HTTP server this test runs on a free loopback port (then stopped,
then answering 500). Stood in: the clock (a fake one the test moves).
"""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hub.config import ScheduleConfig, from_mapping
from hub.core.decisions import SendAlert
from hub.core.rules import Rules
from hub.core.schedule import WorkingHours
from hub.core.sitting import Desk
from hub.integrations.calendar import Calendar, CalendarError, CalendarHours, parse

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
MONDAY = dt.date(2026, 3, 2)  # a Monday, before the spring change in Europe (29 March)

ICS = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//sitless tests//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:standup@sitless
DTSTAMP:20260201T000000Z
SUMMARY:Team meeting
DTSTART;TZID=Europe/Berlin:20260302T100000
DTEND;TZID=Europe/Berlin:20260302T110000
RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
EXDATE;TZID=Europe/Berlin:20260304T100000
END:VEVENT
BEGIN:VEVENT
UID:standup@sitless
DTSTAMP:20260201T000000Z
RECURRENCE-ID;TZID=Europe/Berlin:20260305T100000
SUMMARY:Team meeting (moved)
DTSTART;TZID=Europe/Berlin:20260305T140000
DTEND;TZID=Europe/Berlin:20260305T150000
END:VEVENT
BEGIN:VEVENT
UID:holiday@sitless
DTSTAMP:20260201T000000Z
SUMMARY:Working from home
DTSTART;VALUE=DATE:20260303
DTEND;VALUE=DATE:20260304
END:VEVENT
BEGIN:VEVENT
UID:newyork@sitless
DTSTAMP:20260201T000000Z
SUMMARY:Call with New York
DTSTART;TZID=America/New_York:20260306T060000
DTEND;TZID=America/New_York:20260306T070000
END:VEVENT
BEGIN:VEVENT
UID:lunch@sitless
DTSTAMP:20260201T000000Z
SUMMARY:Lunch (free)
TRANSP:TRANSPARENT
DTSTART;TZID=Europe/Berlin:20260306T120000
DTEND;TZID=Europe/Berlin:20260306T130000
END:VEVENT
END:VCALENDAR
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def at(day: int, hour: int, minute: int = 0) -> float:
    """Berlin wall time on the given day of the week (0 = Monday)."""
    date = MONDAY + dt.timedelta(days=day)
    return dt.datetime.combine(date, dt.time(hour, minute), tzinfo=BERLIN).timestamp()


def first_alert(desk: Desk, clock: Clock, sat: float, until: float) -> float | None:
    """Sit down at ``sat`` and step from deadline to deadline; the first alert's time."""
    clock.now = sat
    desk.on_occupancy(True, sat)
    while True:
        due = desk.next_deadline(clock.now)
        if due is None or due > until:
            return None
        clock.now = due
        for decision in desk.on_tick(due):
            if isinstance(decision, SendAlert):
                return due


@pytest.fixture
def ics_file(tmp_path):
    path = tmp_path / "me.ics"
    path.write_bytes(ICS)
    return path


@pytest.mark.parametrize(
    ("day", "sat", "expected", "why"),
    [
        (0, (9, 45), (11, 0), "Monday: limit at 10:15 in the meeting, alert when it ends"),
        (1, (9, 45), (11, 0), "Tuesday: the all-day event does not pause, the meeting does"),
        (2, (9, 45), (10, 15), "Wednesday: the meeting is cancelled (EXDATE)"),
        (3, (9, 45), (10, 15), "Thursday: the meeting moved to 14:00"),
        (3, (13, 40), (15, 0), "Thursday: the moved meeting pauses"),
        (4, (11, 40), (13, 0), "Friday: 06:00 in New York is 12:00 here; lunch is free"),
        (4, (8, 0), (8, 30), "Friday morning: nothing booked"),
    ],
)
def test_a_week_of_alerts_around_the_meetings(ics_file, day, sat, expected, why):
    clock = Clock()
    clock.now = at(day, *sat)
    calendar = Calendar(str(ics_file), clock=clock)
    desk = Desk("p1", Rules(hours=CalendarHours(calendar)))
    got = first_alert(desk, clock, at(day, *sat), at(day, 23))
    assert got == at(day, *expected), why
    # Time still counted during the meeting: the bout is as old as the wall clock says.
    assert desk.bout_time(got) == pytest.approx(got - at(day, *sat))


def test_working_hours_and_the_calendar_together(ics_file):
    clock = Clock()
    hours = WorkingHours(ScheduleConfig(timezone="Europe/Berlin", start="10:30", end="17:00"))
    merged = CalendarHours(Calendar(str(ics_file), clock=clock), hours)
    clock.now = at(0, 9)
    assert not merged.is_open(at(0, 9))  # before hours
    assert not merged.is_open(at(0, 10, 45))  # hours open, in the meeting
    assert merged.next_open(at(0, 9)) == at(0, 11)
    assert merged.is_open(at(0, 11))
    assert merged.next_open(at(5, 12)) == at(7, 11)  # Saturday -> next Monday after its meeting


class IcsServer:
    """Serves the ICS bytes, or a 500 when told to fail."""

    def __init__(self) -> None:
        self.body = ICS
        self.fail = False
        self.hits = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.hits += 1
                status = 500 if owner.fail else 200
                body = b"oops" if owner.fail else owner.body
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/me.ics?key=private"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_over_http_with_a_cache_and_the_server_down(tmp_path, caplog):
    server = IcsServer()
    clock = Clock()
    clock.now = at(0, 9)
    cache = tmp_path / "p1.ics"
    try:
        calendar = Calendar(server.url, cache, clock=clock, refresh_s=900, timeout_s=2)
        assert calendar.busy_until(at(0, 10, 30)) == at(0, 11)
        assert server.hits == 1
        assert cache.read_bytes() == ICS
        clock.now += 60
        calendar.busy_until(at(0, 10, 30))
        assert server.hits == 1  # cached for refresh_s
        server.fail = True
        clock.now += 900
        assert calendar.busy_until(at(0, 10, 30)) == at(0, 11)  # the last good copy
        assert server.hits == 2
        assert calendar.failures == 1
    finally:
        server.stop()
    clock.now += 900
    assert calendar.busy_until(at(1, 10, 30)) == at(1, 11)  # server gone: still the copy
    assert calendar.failures == 2
    assert "keeping the last good copy" in caplog.text
    assert "key=private" not in caplog.text
    # A new hub start while the server is down works from the cache on disk.
    restarted = Calendar(server.url, cache, clock=clock, timeout_s=2)
    assert restarted.busy_until(at(2, 10, 30)) is None  # Wednesday's meeting is cancelled
    assert restarted.busy_until(at(3, 14, 30)) == at(3, 15)


def test_bad_calendars_are_one_clear_error(tmp_path):
    with pytest.raises(CalendarError, match="not an iCalendar document"):
        parse(b"this is not a calendar")
    clock = Clock()
    missing = Calendar(str(tmp_path / "nowhere.ics"), clock=clock)
    assert missing.busy_until(at(0, 10, 30)) is None  # no copy at all: never busy
    assert missing.failures == 1


def test_a_desk_with_a_calendar_in_its_configuration(tmp_path, ics_file):
    """The configuration's ``desks.D.calendar`` reaches the desk's rules; the fetch runs apart."""
    cfg = from_mapping(
        {
            "state_dir": str(tmp_path / "state"),
            "desks": {"p1": {"calendar": str(ics_file)}, "p2": {}},
        }
    )
    (tmp_path / "state").mkdir()
    rules = Rules.for_desk(cfg, "p1")
    assert isinstance(rules.hours, CalendarHours)
    assert Rules.for_desk(cfg, "p2").hours is None
    assert rules.hours.calendar.wait(10)
    assert (tmp_path / "state" / "calendar-p1.ics").read_bytes() == ICS
    clock = Clock()
    desk = Desk("p1", rules)
    assert first_alert(desk, clock, at(0, 9, 45), at(0, 23)) == at(0, 11)
    assert str(ics_file) not in repr(cfg.desk("p1"))  # the address may hold a private key
