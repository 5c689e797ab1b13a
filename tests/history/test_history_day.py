"""A simulated working day through History into a real InfluxDB 1.x, checked with InfluxQL.

Real: influxd (Debian's InfluxDB 1.x, v1 /write and /query), SQLite spool, the
writer thread, influxdb-client's line protocol. Stood in: the hub core, replaced
by a script that reports the facts and samples a known day would produce.
"""

from __future__ import annotations

import datetime as dt

import pytest

from hub.history import History
from tests.history import day_script as day
from tests.history.helpers import make_cfg, wait_drained

DATE = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def played_day(influxd, tmp_path_factory):
    influxd.create_database("day")
    cfg = make_cfg(
        tmp_path_factory.mktemp("day"),
        desks=day.DESKS,
        api="v1",
        url=influxd.url,
        database="day",
        batch_size=700,
    )
    history = History(cfg)
    history.start()
    try:
        t0 = day.day_start(DATE)
        day.play(history, t0)
        stats = wait_drained(history)
    finally:
        history.close()
    return influxd, t0, stats


def _by_desk(rows, column):
    return {row["desk"]: row[column] for row in rows}


def test_every_transition_and_bout_arrives_once(played_day):
    influxd, t0, stats = played_day
    bouts = day.bouts(t0)
    transitions = dict.fromkeys(day.DESKS, 0)
    for bout in bouts:
        transitions[bout.desk] += 1 + (bout.ended_by == "break")
    counted = _by_desk(
        influxd.rows('SELECT count("seated") FROM "occupancy" GROUP BY "desk"', "day"), "count"
    )
    assert counted == {desk: n for desk, n in transitions.items() if n}
    durations = influxd.rows(
        'SELECT "duration_s", "ended_by" FROM "sitting_bout" GROUP BY "desk"', "day"
    )
    got = sorted((r["desk"], r["time"], r["duration_s"], r["ended_by"]) for r in durations)
    want = sorted((b.desk, int(b.start), b.end - b.start, b.ended_by) for b in bouts)
    assert got == want
    assert stats["dead_letters"] == 0
    assert stats["written"] > 0


def test_alert_acks_overwrite_rather_than_duplicate(played_day):
    influxd, t0, _ = played_day
    alerts = influxd.rows('SELECT "seated_s", "acked", "level" FROM "alert"', "day")
    long_bouts = [b for b in day.bouts(t0) if b.alerts]
    assert len(alerts) == len(long_bouts)
    assert all(row["acked"] == 1 and row["level"] == "1" for row in alerts)
    bouts = influxd.rows(
        'SELECT "responded_s", "snoozes" FROM "sitting_bout" WHERE "alerts" > 0 GROUP BY "desk"',
        "day",
    )
    assert sorted((r["desk"], r["responded_s"]) for r in bouts) == sorted(
        (b.desk, b.end - b.start - day.LIMIT_S) for b in long_bouts
    )


def test_utilisation_is_a_plain_mean(played_day):
    influxd, t0, _ = played_day
    rows = influxd.rows(
        'SELECT mean("occupied"), count("occupied") FROM "desk_state" GROUP BY "desk"', "day"
    )
    assert {r["desk"]: r["count"] for r in rows} == dict.fromkeys(day.DESKS, day.DAY_MINUTES)
    means = _by_desk(rows, "mean")
    for desk in day.DESKS:
        assert means.get(desk, 0.0) == pytest.approx(day.expected_utilisation(desk, t0))
    # a1 sits 90 + 60 minutes of the 600 sampled: a quarter of the day.
    assert means["a1"] == pytest.approx(0.25)


def test_zone_occupancy_merges_small_zones_and_has_no_desk(played_day):
    influxd, t0, _ = played_day
    keys = influxd.rows('SHOW TAG KEYS FROM "zone_occupancy"', "day")
    assert {row["tagKey"] for row in keys} == {"site", "floor", "zone"}
    rows = influxd.rows(
        'SELECT mean("utilisation"), max("desks"), count("desks") '
        'FROM "zone_occupancy" GROUP BY "site", "floor", "zone"',
        "day",
    )
    groups = {(r["site"], r["floor"], r["zone"]): r for r in rows}
    # north has 3 desks and stands alone; south (2) and lab (1) are too small on their
    # floors and are pooled at site level into one group of 3.
    assert set(groups) == {("hq", "3", "north"), ("hq", "_merged", "_merged")}
    north = groups[("hq", "3", "north")]
    assert north["max"] == 3
    assert north["count"] == day.DAY_MINUTES
    want_north = sum(day.expected_utilisation(d, t0) for d in ("a1", "a2", "a3")) / 3
    assert north["mean"] == pytest.approx(want_north)
    pooled = groups[("hq", "_merged", "_merged")]
    want_pooled = sum(day.expected_utilisation(d, t0) for d in ("b1", "b2", "c1")) / 3
    assert pooled["mean"] == pytest.approx(want_pooled)


def test_device_health_every_ten_minutes(played_day):
    influxd, _, _ = played_day
    rows = influxd.rows(
        'SELECT count("heap_free"), last("reconnects") FROM "device_health" GROUP BY "desk", "fw"',
        "day",
    )
    assert {r["desk"]: r["count"] for r in rows} == dict.fromkeys(day.DESKS, 60)
    assert all(r["fw"] == "1.0.0" and r["last"] == 2 for r in rows)
