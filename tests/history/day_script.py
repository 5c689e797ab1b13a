"""A known working day of six desks, replayed through History as the hub core would.

The script lists each desk's seated intervals; from it come the facts the hub
would report (transitions, finished bouts, alerts and their acks, telemetry)
and the per-minute desk samples, all with synthetic event times so a day runs
in a second. The expected numbers are computed from the same intervals by
plain arithmetic, independently of the history code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hub.contract.protocol import Telemetry
from hub.core.facts import (
    AlertSent,
    BoutEnded,
    DeskSample,
    Fact,
    OccupancyChanged,
    Snoozed,
    TelemetryReceived,
)
from hub.history import History

MINUTE = 60.0
LIMIT_S = 30 * MINUTE
DAY_MINUTES = 600  # 08:00 to 18:00
TELEMETRY_EVERY_S = 10 * MINUTE

DESKS: dict[str, dict[str, str]] = {
    "a1": {"site": "hq", "floor": "3", "zone": "north"},
    "a2": {"site": "hq", "floor": "3", "zone": "north"},
    "a3": {"site": "hq", "floor": "3", "zone": "north"},
    "b1": {"site": "hq", "floor": "3", "zone": "south"},
    "b2": {"site": "hq", "floor": "3", "zone": "south"},
    "c1": {"site": "hq", "floor": "4", "zone": "lab"},
}

# Seated intervals in minutes after 08:00: (start, end). Seconds are added to some
# ends so bout durations are not all whole minutes.
INTERVALS: dict[str, list[tuple[float, float]]] = {
    "a1": [(60, 150), (180, 240)],  # 90 and 60 min bouts, one alert each
    "a2": [(0, 20.5), (30, 55), (300, 345.25)],
    "a3": [],  # nobody came
    "b1": [(100, 400)],  # one 5 h bout
    "b2": [(10, 25), (500, 600)],  # the last bout runs to day end
    "c1": [(200, 229.75)],
}


def day_start(date: dt.date) -> float:
    """08:00 UTC on the given date, in epoch seconds."""
    return dt.datetime.combine(date, dt.time(8, 0), tzinfo=dt.UTC).timestamp()


@dataclass(frozen=True)
class Bout:
    """What the script says about one bout, for expectations."""

    desk: str
    start: float
    end: float
    alerts: int
    ended_by: str


def bouts(t0: float) -> list[Bout]:
    """Every bout in the script with absolute times; a bout longer than the limit had one alert."""
    out = []
    for desk, intervals in INTERVALS.items():
        for start, end in intervals:
            begin, finish = t0 + start * MINUTE, t0 + end * MINUTE
            ended_by = "day_end" if end >= DAY_MINUTES else "break"
            out.append(Bout(desk, begin, finish, int(finish - begin > LIMIT_S), ended_by))
    return out


def occupied_at(desk: str, t0: float, ts: float) -> float | None:
    """Start of the bout the desk is in at ts, or None when vacant."""
    for start, end in INTERVALS[desk]:
        if t0 + start * MINUTE <= ts < t0 + end * MINUTE:
            return t0 + start * MINUTE
    return None


def sample_times(t0: float) -> list[float]:
    """One sample per minute from 08:00 (inclusive) to 18:00 (exclusive)."""
    return [t0 + i * MINUTE for i in range(DAY_MINUTES)]


def expected_utilisation(desk: str, t0: float) -> float:
    """Fraction of minute samples at which the desk was occupied."""
    times = sample_times(t0)
    return sum(occupied_at(desk, t0, ts) is not None for ts in times) / len(times)


def facts(t0: float) -> list[Fact]:
    """Every fact of the day in time order."""
    out: list[tuple[float, int, Fact]] = []
    order = 0
    for desk in INTERVALS:
        seq = 0
        for bout in (b for b in bouts(t0) if b.desk == desk):
            seq += 1
            out.append((bout.start, order, OccupancyChanged(desk, bout.start, True, seq, 800.0)))
            order += 1
            responded = None
            if bout.alerts:
                at = bout.start + LIMIT_S
                out.append((at, order, AlertSent(desk, at, 1, LIMIT_S)))
                out.append((at + 2, order + 1, AlertSent(desk, at, 1, LIMIT_S, acked=True)))
                out.append((at + 60, order + 2, Snoozed(desk, at + 60, "short")))
                order += 3
                responded = bout.end - at
            if bout.ended_by == "break":
                seq += 1
                out.append((bout.end, order, OccupancyChanged(desk, bout.end, False, seq, 90.0)))
                order += 1
            out.append(
                (
                    bout.end,
                    order,
                    BoutEnded(
                        desk,
                        bout.start,
                        bout.end,
                        bout.ended_by,  # type: ignore[arg-type]
                        bout.alerts,
                        bout.alerts,
                        bout.alerts,
                        responded,
                    ),
                )
            )
            order += 1
        for i in range(int(DAY_MINUTES * MINUTE / TELEMETRY_EVERY_S)):
            ts = t0 + i * TELEMETRY_EVERY_S
            tel = Telemetry(
                desk=desk,
                ts=ts,
                uptime_ms=int(i * TELEMETRY_EVERY_S * 1000),
                value=100.0 + i,
                baseline=80.0,
                rssi=-60 - i % 5,
                heap_free=90000,
                fw="1.0.0",
                reconnects=i // 20,
            )
            out.append((ts, order, TelemetryReceived(desk, ts, tel)))
            order += 1
    return [fact for _, _, fact in sorted(out, key=lambda item: (item[0], item[1]))]


def samples_at(t0: float, ts: float) -> list[DeskSample]:
    """Every desk's state at a sample instant."""
    out = []
    for desk in INTERVALS:
        start = occupied_at(desk, t0, ts)
        out.append(
            DeskSample(desk, ts, start is not None, 0.0 if start is None else ts - start, True)
        )
    return out


def play(history: History, t0: float) -> None:
    """Feed the day through History: facts and samples interleaved in time order."""
    pending = facts(t0)
    index = 0
    for ts in sample_times(t0):
        while index < len(pending) and _fact_time(pending[index]) <= ts:
            history.record(pending[index])
            index += 1
        history.sample(ts, samples_at(t0, ts))
    for fact in pending[index:]:
        history.record(fact)


def _fact_time(fact: Fact) -> float:
    return fact.end if isinstance(fact, BoutEnded) else fact.ts
