"""A known office week, as the facts and samples the hub core would hand to History.

Everything is a pure function of the script below, so a test can both play the
week into History and work out independently what each dashboard must show.
Times are UTC and deterministic: the week of Monday 2024-01-01.

Ten desks in three zones. ``n4`` is known (online, sampled) but never used;
``e3`` stops sending heartbeats on Friday at 12:00 (offline from then on);
``s2``'s empty-seat baseline drifts upwards all week; the ``e`` desks run a
newer firmware. Desks are sampled and send telemetry every five minutes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from hub.config import from_mapping
from hub.contract.protocol import Telemetry
from hub.core.facts import AlertSent, BoutEnded, DeskSample, OccupancyChanged, TelemetryReceived
from hub.history import History

WEEK_START: Final = dt.datetime(2024, 1, 1, tzinfo=dt.UTC).timestamp()  # a Monday
DAY: Final = 86_400
STEP: Final = 300  # sample and telemetry period, seconds
LIMIT: Final = 1_800  # sitting.limit: first alert after 30 min
ESCALATE: Final = 300  # next level every 5 min, up to level 3
OFFLINE_FROM: Final = WEEK_START + 4 * DAY + 12 * 3600  # e3 goes quiet on Friday 12:00
DRIFT: Final = 200.0  # s2's baseline rises by this much over the week

LOCATIONS: Final = {
    "n1": ("hq", "3", "north"),
    "n2": ("hq", "3", "north"),
    "n3": ("hq", "3", "north"),
    "n4": ("hq", "3", "north"),
    "s1": ("hq", "3", "south"),
    "s2": ("hq", "3", "south"),
    "s3": ("hq", "3", "south"),
    "e1": ("hq", "4", "east"),
    "e2": ("hq", "4", "east"),
    "e3": ("hq", "4", "east"),
}
DESKS: Final = {desk: {"site": s, "floor": f, "zone": z} for desk, (s, f, z) in LOCATIONS.items()}

WEEKDAYS = (0, 1, 2, 3, 4)
# desk -> (weekdays it is used, [(start "HH:MM", end "HH:MM"), ...]); weekends are empty.
SCHEDULE: Final = {
    "n1": (
        WEEKDAYS,
        [("08:30", "10:45"), ("11:00", "12:00"), ("13:00", "13:20"), ("13:30", "17:00")],
    ),
    "n2": (WEEKDAYS, [("09:00", "12:00"), ("13:00", "17:00")]),
    "n3": ((0, 2), [("10:00", "11:00")]),
    "n4": ((), []),
    "s1": (WEEKDAYS, [("09:00", "17:00")]),
    "s2": ((1, 2, 3), [("09:30", "11:30")]),
    "s3": (WEEKDAYS, [("14:00", "16:00")]),
    "e1": (WEEKDAYS, [("08:00", "12:00")]),
    "e2": (WEEKDAYS, [("10:00", "10:50")]),
    "e3": (WEEKDAYS, [("09:00", "11:00")]),
}


@dataclass(frozen=True, slots=True)
class Bout:
    desk: str
    start: float
    end: float
    ended_by: Literal["break", "day_end"]

    @property
    def duration(self) -> float:
        return self.end - self.start

    @property
    def alert_times(self) -> list[tuple[float, int]]:
        """(time, level) of each alert: at the limit, then one level up every ESCALATE."""
        out = []
        for level in (1, 2, 3):
            at = self.start + LIMIT + (level - 1) * ESCALATE
            if at < self.end:
                out.append((at, level))
        return out

    @property
    def snoozes(self) -> int:
        return 1 if len(self.alert_times) >= 2 else 0

    @property
    def responded_s(self) -> float | None:
        return self.end - self.start - LIMIT if self.alert_times else None


def _clock(day_start: float, text: str) -> float:
    hours, minutes = text.split(":")
    return day_start + int(hours) * 3600 + int(minutes) * 60


def bouts(desk: str) -> list[Bout]:
    """Every bout of the desk in the week; the day's last one ends by ``day_end``."""
    weekdays, intervals = SCHEDULE[desk]
    out = []
    for day in range(7):
        if day not in weekdays:
            continue
        start_of_day = WEEK_START + day * DAY
        for index, (start, end) in enumerate(intervals):
            ended_by: Literal["break", "day_end"] = (
                "day_end" if index == len(intervals) - 1 else "break"
            )
            out.append(Bout(desk, _clock(start_of_day, start), _clock(start_of_day, end), ended_by))
    return out


def seated_since(desk: str, ts: float) -> float | None:
    """When the bout under way at ``ts`` started, or None when the desk is vacant."""
    for bout in bouts(desk):
        if bout.start <= ts < bout.end:
            return bout.start
    return None


def sample_times() -> Iterator[float]:
    """Every sample instant of the week, Monday 00:00 to Sunday 23:55."""
    ts = WEEK_START
    while ts < WEEK_START + 7 * DAY:
        yield ts
        ts += STEP


def online(desk: str, ts: float) -> bool:
    return not (desk == "e3" and ts >= OFFLINE_FROM)


def firmware(desk: str) -> str:
    return "0.2.0" if desk.startswith("e") else "0.1.0"


def baseline(desk: str, ts: float) -> float:
    if desk != "s2":
        return 1000.0
    return 1000.0 + DRIFT * (ts - WEEK_START) / (7 * DAY)


def rssi(desk: str) -> int:
    return -55 - sorted(LOCATIONS).index(desk)


def play(history: History) -> None:
    """Hand History every fact and sample of the week, as the hub core would."""
    for desk in LOCATIONS:
        seq = 0
        for bout in bouts(desk):
            history.record(OccupancyChanged(desk, bout.start, True, seq, 2000.0))
            history.record(OccupancyChanged(desk, bout.end, False, seq + 1, 900.0))
            seq += 2
            for at, level in bout.alert_times:
                history.record(AlertSent(desk, at, level, at - bout.start, acked=True))
            history.record(
                BoutEnded(
                    desk,
                    bout.start,
                    bout.end,
                    bout.ended_by,
                    len(bout.alert_times),
                    bout.snoozes,
                    max((level for _, level in bout.alert_times), default=0),
                    bout.responded_s,
                )
            )
    for ts in sample_times():
        samples = []
        for desk in LOCATIONS:
            since = seated_since(desk, ts)
            samples.append(
                DeskSample(
                    desk,
                    ts,
                    since is not None,
                    0.0 if since is None else ts - since,
                    online(desk, ts),
                )
            )
            if online(desk, ts):
                uptime_ms = int((ts - WEEK_START) * 1000)
                telemetry = Telemetry(
                    desk,
                    ts,
                    uptime_ms,
                    900.0,
                    baseline(desk, ts),
                    rssi(desk),
                    90_000,
                    firmware(desk),
                    2,
                )
                history.record(TelemetryReceived(desk, ts, telemetry))
        history.sample(ts, samples)


def record(influx_url: str, database: str, state_dir: str, **history: object) -> dict[str, object]:
    """Play the week through a real History writing to InfluxDB, and wait for the spool to drain.

    Returns the final spool stats; extra keyword arguments go to ``[history]``.
    """
    cfg = from_mapping(
        {
            "state_dir": state_dir,
            "history": {"api": "v1", "url": influx_url, "database": database, **history},
            "desks": DESKS,
        }
    )
    recorder = History(cfg)
    recorder.start()
    try:
        play(recorder)
        deadline = time.monotonic() + 120
        while (stats := recorder.stats())["spool_rows"] != 0:
            if time.monotonic() > deadline:
                msg = f"the spool did not drain: {stats}"
                raise TimeoutError(msg)
            time.sleep(0.1)
    finally:
        recorder.close()
    return stats
