"""Aggregate privacy: the main database never learns who sat where.

Real: influxd (InfluxDB 1.x) with a main and a personal database, the writer
thread and spool. Stood in: the hub core (the simulated day script).
"""

from __future__ import annotations

import datetime as dt

from hub.contract.protocol import Telemetry
from hub.core.facts import (
    AlertSent,
    BoutEnded,
    DeskSample,
    OccupancyChanged,
    TelemetryReceived,
)
from tests.history import day_script as day
from tests.history.helpers import make_cfg, wait_drained, wait_for

DATE = dt.date(2026, 3, 3)


def _tag_keys(influxd, database):
    return {row["tagKey"] for row in influxd.rows("SHOW TAG KEYS", database)}


def _measurements(influxd, database):
    return {row["name"] for row in influxd.rows("SHOW MEASUREMENTS", database)}


def test_aggregate_mode_keeps_desks_out_of_the_main_database(influxd, tmp_path, open_history):
    influxd.create_database("facilities")
    influxd.create_database("personal")
    cfg = make_cfg(
        tmp_path,
        desks=day.DESKS,
        api="v1",
        url=influxd.url,
        database="facilities",
        personal_database="personal",
        privacy="aggregate",
    )
    history = open_history(cfg)
    t0 = day.day_start(DATE)
    day.play(history, t0)
    assert wait_drained(history)["dead_letters"] == 0

    # hub_spool is the hub's own backlog: no desk in it. Device health is each chair's own
    # (its uptime follows it from point to point), so it stays in the personal database.
    assert _measurements(influxd, "facilities") == {"zone_occupancy", "hub_spool"}
    assert "desk" not in _tag_keys(influxd, "facilities")
    health = influxd.rows(
        'SELECT count("uptime_s") FROM "device_health" GROUP BY "desk"', "personal"
    )
    assert {r["desk"] for r in health} == set(day.DESKS)
    health_fields = {
        r["fieldKey"] for r in influxd.rows('SHOW FIELD KEYS FROM "device_health"', "personal")
    }
    assert {"rssi", "heap_free", "uptime_s", "reconnects", "value"} <= health_fields
    zones = influxd.rows('SELECT count("utilisation") FROM "zone_occupancy"', "facilities")
    assert zones[0]["count"] == 2 * day.DAY_MINUTES

    assert _measurements(influxd, "personal") == {
        "occupancy",
        "desk_state",
        "sitting_bout",
        "alert",
        "device_health",
    }
    per_desk = influxd.rows(
        'SELECT count("occupied") FROM "desk_state" GROUP BY "desk"', "personal"
    )
    assert {r["desk"]: r["count"] for r in per_desk} == dict.fromkeys(day.DESKS, day.DAY_MINUTES)


def test_aggregate_without_personal_database_stores_per_desk_points_nowhere(
    influxd, tmp_path, open_history
):
    """Occupancy, alerts, bouts and device health of a three-desk zone: only the zone count."""
    influxd.create_database("facilities_only")
    desks = {f"d{i}": {"site": "hq", "floor": "1", "zone": "open"} for i in range(3)}
    cfg = make_cfg(
        tmp_path,
        desks=desks,
        api="v1",
        url=influxd.url,
        database="facilities_only",
        privacy="aggregate",
    )
    history = open_history(cfg)
    t0 = day.day_start(DATE)
    for i, desk in enumerate(desks):
        history.record(OccupancyChanged(desk, t0 + i, True, 1, 1.0))
        history.record(AlertSent(desk, t0 + i, 1, 1800.0))
        history.record(BoutEnded(desk, t0 + i, t0 + 60, "break", 1, 0, 1, 30.0))
        tel = Telemetry(
            desk=desk,
            ts=t0 + i,
            uptime_ms=1000,
            value=1.0,
            baseline=0.5,
            rssi=-60,
            heap_free=1,
            fw="1",
            reconnects=0,
        )
        history.record(TelemetryReceived(desk, t0 + i, tel))
    assert history.stats()["spool_rows"] == 0
    history.sample(t0 + 60, [DeskSample(d, t0 + 60, d == "d0", 0.0, True) for d in desks])
    stats = wait_drained(history)
    assert stats["written"] == 2  # the zone, and the hub's own backlog sample
    assert _measurements(influxd, "facilities_only") == {"zone_occupancy", "hub_spool"}
    row = influxd.rows('SELECT * FROM "zone_occupancy"', "facilities_only")[0]
    assert (row["occupied"], row["desks"], row["zone"]) == (1, 3, "open")
    assert "desk" not in row


def test_a_missing_personal_database_does_not_hold_back_the_main_one(
    influxd, tmp_path, open_history, caplog
):
    influxd.create_database("main_ok")
    desks = {f"d{i}": {"site": "hq", "floor": "1", "zone": "open"} for i in range(3)}
    cfg = make_cfg(
        tmp_path,
        desks=desks,
        api="v1",
        url=influxd.url,
        database="main_ok",
        personal_database="personal_later",
        privacy="aggregate",
    )
    history = open_history(cfg)
    t0 = day.day_start(DATE)
    for minute in range(5):
        ts = t0 + 60 * minute
        history.sample(ts, [DeskSample(d, ts, True, 60.0 * minute, True) for d in desks])
    wait_for(
        lambda: len(influxd.rows('SELECT "desks" FROM "zone_occupancy"', "main_ok")) == 5,
        "zone points in the main database",
    )
    # desk_state for the personal database waits (the main rows leave just after the server
    # answered, so wait for that too).
    wait_for(lambda: history.stats()["spool_rows"] == 15, "only the personal rows to be left")
    assert history.stats()["dead_letters"] == 0
    assert "cannot be written" in caplog.text
    influxd.create_database("personal_later")
    assert wait_drained(history)["dead_letters"] == 0
    rows = influxd.rows('SELECT count("occupied") FROM "desk_state"', "personal_later")
    assert rows[0]["count"] == 15
