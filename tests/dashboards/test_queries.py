"""Every dashboard query, run as Grafana would run it, against a week the hub recorded.

Real: influxd (InfluxDB 1.x, InfluxQL over /query), the hub's History (SQLite
spool, writer thread, line protocol) writing to it, the shipped dashboard JSON,
the query expansion in hub.integrations.grafana.expand. Stood in: Grafana (tests/dashboards
/grafana_runner.py resolves variables, expands macros and applies the few
transformations the panels use) and the hub core (tests/dashboards/week_script.py
hands History the facts and samples of a known week). The expected values are
worked out from that script, never typed in.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator
from typing import Any

import pytest

from hub.integrations.grafana.expand import TimeRange
from tests.dashboards import week_script as week
from tests.dashboards.expected import (
    BOARDS,
    DATABASE,
    DESK_COUNT,
    FRIDAY_1030,
    MIN_INTERVAL,
    SAMPLES,
    SEATED,
    UP_TO_FRIDAY_1030,
    WEDNESDAY,
    WEEK,
    W,
    hourly_utilisation,
    value,
)
from tests.dashboards.grafana_runner import DashboardRun, QueryFailedError

ME = "n1"


@pytest.fixture(scope="module")
def influx(influxd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The session influxd with the week written by History, drained completely."""
    influxd.create_database(DATABASE)
    stats = week.record(
        influxd.url, DATABASE, str(tmp_path_factory.mktemp("dash-week")), sample_period=week.STEP
    )
    assert stats["dead_letters"] == 0
    return influxd


def run(influx, board: str, time_range: TimeRange, **chosen: list[str]) -> DashboardRun:
    return DashboardRun(
        influx, DATABASE, BOARDS[board], time_range, min_interval=MIN_INTERVAL, chosen=chosen
    )


# --- every query of every dashboard ----------------------------------------------------------

CASES = [
    ("facilities-occupancy", WEEK, {}),
    ("facilities-occupancy", UP_TO_FRIDAY_1030, {}),
    ("fleet-health", WEEK, {}),
    ("my-sitting", WEDNESDAY, {"desk": [ME]}),
]


@pytest.mark.parametrize(
    ("board", "time_range", "chosen"),
    CASES,
    ids=["occupancy-week", "occupancy-friday", "fleet-week", "me-wednesday"],
)
def test_every_panel_query_runs_and_returns_data(influx, board, time_range, chosen):
    """Each target of each panel is accepted by InfluxDB and returns at least one value."""
    dash = run(influx, board, time_range, **chosen)
    failures = []
    for panel in dash.panels():
        for target in panel["targets"]:
            try:
                dash.query(panel, target)
            except QueryFailedError as exc:
                failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_variables_list_the_recorded_places_and_desks(influx):
    occupancy = run(influx, "facilities-occupancy", WEEK)
    assert occupancy.options == {
        "site": ["hq"],
        "floor": ["3", "4"],
        "zone": ["east", "north", "south"],
    }
    me = run(influx, "my-sitting", WEDNESDAY, desk=[ME])
    assert me.options["desk"] == sorted(week.LOCATIONS)


# --- facilities: occupancy ------------------------------------------------------------------


def test_utilisation_peak_and_average_over_the_week(influx):
    """Range figures equal the script's seated desk-samples over known desk-samples."""
    dash = run(influx, "facilities-occupancy", WEEK)
    (util,) = dash.single("Utilisation over the range").column("sum_sum")
    assert util == pytest.approx(sum(SEATED.values()) / (DESK_COUNT * len(SAMPLES)))
    assert dash.single("Peak occupancy").column("max") == [max(SEATED.values())]
    (mean,) = dash.single("Average occupancy").column("mean")
    assert mean == pytest.approx(statistics.fmean(SEATED.values()))


def test_utilisation_by_hour_weekday_and_weekly_profile(influx):
    """The bar charts after Grafana's transformations: hour of day, weekday, weekday+hour."""
    dash = run(influx, "facilities-occupancy", WEEK)
    hourly = hourly_utilisation()
    field = "utilisation (mean)"

    by_hour = dash.transformed("Utilisation by hour of day")
    assert by_hour["Time"] == [f"{h:02d}" for h in range(24)]
    for hour in range(24):
        want = statistics.fmean(hourly[(day, hour)] for day in range(7))
        assert value(by_hour, f"{hour:02d}", field) == pytest.approx(want), hour

    by_day = dash.transformed("Utilisation by weekday")
    names = ["1 Mon", "2 Tue", "3 Wed", "4 Thu", "5 Fri", "6 Sat", "7 Sun"]
    assert by_day["Time"] == names
    for day, name in enumerate(names):
        want = statistics.fmean(hourly[(day, hour)] for hour in range(24))
        assert value(by_day, name, field) == pytest.approx(want), name

    profile = dash.transformed("Weekly profile: weekday and hour")
    assert len(profile["Time"]) == 7 * 24
    # Monday 10:00-11:00, twelve samples: n2, n3, s1, e1 and e3 seated throughout, n1 until
    # 10:45 (nine samples), e2 until 10:50 (ten); n4, s2 and s3 empty. Ten desks known.
    monday_ten = value(profile, "1 Mon 10", field)
    assert monday_ten == pytest.approx(hourly[(0, 10)])
    assert monday_ten == pytest.approx((5 * 12 + 9 + 10) / (10 * 12))
    assert value(profile, "6 Sat 10", field) == 0


def test_per_zone_table_and_desks_never_used(influx):
    dash = run(influx, "facilities-occupancy", WEEK)
    table = dash.transformed("Per zone")
    for row, zone in enumerate(table["zone"]):
        desks = [d for d, where in week.LOCATIONS.items() if where[2] == zone]
        counts = [sum(week.seated_since(d, ts) is not None for d in desks) for ts in SAMPLES]
        assert table["desks"][row] == len(desks)
        assert table["peak occupied"][row] == max(counts)
        assert table["average occupied"][row] == pytest.approx(statistics.fmean(counts))
        assert table["utilisation"][row] == pytest.approx(sum(counts) / (len(desks) * len(SAMPLES)))
    assert sorted(table["zone"]) == ["east", "north", "south"]
    never = dash.transformed("Desks never used in the range")
    assert never["desk"] == ["n4"]


def test_now_panels_show_the_last_sample_of_the_range(influx):
    """Ending the range on Friday 10:30 shows who sat at 10:30."""
    dash = run(influx, "facilities-occupancy", UP_TO_FRIDAY_1030)
    assert dash.single("Occupied desks now").column("sum")[-1] == SEATED[FRIDAY_1030]
    assert dash.single("Desks known now").column("sum")[-1] == DESK_COUNT
    assert dash.single("Utilisation now").column("sum_sum")[-1] == pytest.approx(
        SEATED[FRIDAY_1030] / DESK_COUNT
    )
    zones = {s.tags["zone"] for s in dash.results("Utilisation per zone")["A"]}
    assert zones == {"east", "north", "south"}


# --- facilities: fleet health ---------------------------------------------------------------


def test_online_offline_firmware_and_last_seen(influx):
    """e3 fell silent on Friday 12:00: 9 online at the end of the week, 10 seen."""
    dash = run(influx, "fleet-health", WEEK)
    assert dash.single("Online now").column("count") == [9]
    assert dash.single("Seen in the range").column("count") == [10]
    firmware = {s.tags["fw"]: s.column("count")[0] for s in dash.results("Firmware versions")["A"]}
    assert firmware == {"0.1.0": 7, "0.2.0": 3}
    last_seen = dash.transformed("Last seen")
    assert last_seen["desk"][0] == "e3"
    assert last_seen["Time"][0] == (week.OFFLINE_FROM - week.STEP) * 1000
    beats = {s.tags["desk"]: s.column("count") for s in dash.results("Heartbeats")["A"]}
    assert beats["e3"][-1] == 0
    assert all(min(counts) > 0 for desk, counts in beats.items() if desk != "e3")


def test_readings_and_baseline_drift(influx):
    """s2's baseline drifted; the others did not; RSSI is each device's own."""
    dash = run(influx, "fleet-health", WEEK)
    table = dash.transformed("Latest readings and baseline drift")
    drift = dict(zip(table["desk"], table["baseline drift"], strict=True))
    assert drift.pop("s2") == pytest.approx(week.DRIFT * (len(SAMPLES) - 1) / len(SAMPLES))
    assert set(drift.values()) == {0}
    assert dict(zip(table["desk"], table["rssi"], strict=True)) == {
        d: week.rssi(d) for d in week.LOCATIONS
    }
    rssi = {s.tags["desk"] for s in dash.results("RSSI")["A"]}
    assert rssi == set(week.LOCATIONS)


# --- personal: my sitting ---------------------------------------------------------------------


def my_bouts(day: int) -> list[week.Bout]:
    start = W + day * week.DAY
    return [b for b in week.bouts(ME) if start <= b.start < start + week.DAY]


def test_my_day_in_figures(influx):
    """n1 on Wednesday: four bouts, three long enough to alert."""
    dash = run(influx, "my-sitting", WEDNESDAY, desk=[ME])
    bouts = my_bouts(2)
    alerted = [b for b in bouts if b.alert_times]
    assert dash.single("Sitting time").column("sum") == [sum(b.duration for b in bouts)]
    assert dash.single("Longest bout").column("max") == [max(b.duration for b in bouts)]
    # Over the limit: long enough to alert, and not a real break within ESCALATE of the alert.
    over = [
        b
        for b in bouts
        if b.duration >= week.LIMIT
        and not (b.ended_by == "break" and (b.responded_s or 0) <= week.ESCALATE)
    ]
    assert dash.single("Bouts over the limit").column("over the limit") == [len(over)]
    taken, prompted = dash.results("Breaks taken vs prompted").values()
    assert [s.column("taken") for s in taken] == [[sum(b.ended_by == "break" for b in alerted)]]
    assert [s.column("prompted") for s in prompted] == [[len(alerted)]]
    assert dash.single("Alerts").column("count") == [sum(len(b.alert_times) for b in bouts)]
    assert dash.single("Snoozes").column("sum") == [sum(b.snoozes for b in bouts)]
    answered = dash.single("Time to stand up after an alert")
    responded = [b.responded_s for b in alerted if b.ended_by == "break"]
    assert answered.column("median") == [pytest.approx(statistics.median(responded))]
    assert answered.column("average") == [pytest.approx(statistics.fmean(responded))]
    assert answered.column("slowest") == [max(responded)]
    # Every limit-length bout of n1's Wednesday was answered late: no compliance, no streak.
    assert dash.single("Compliance").column("compliance") == [0]
    assert dash.single("Streak").column("streak") == [0]
    assert len(dash.single("Bouts").values) == len(bouts)


def test_my_day_timeline_and_the_week(influx):
    dash = run(influx, "my-sitting", WEDNESDAY, desk=[ME])
    timeline = dash.results("The day")
    assert set(timeline["A"][0].column("seated")) == {0, 1}
    levels = {s.tags["level"]: sum(s.column("alerts")) for s in timeline["B"]}
    assert levels == {"1": 3, "2": 3, "3": 3}
    longest = max(my_bouts(2), key=lambda b: b.duration)
    last_sample = longest.end - week.STEP
    assert max(dash.single("Current bout length").column("minutes seated")) == (
        (last_sample - longest.start) / 60
    )

    hours = dash.single("Week: hours seated per day")
    per_day = dict(zip(hours.column("time"), hours.column("hours seated"), strict=True))
    for day in range(3):  # Monday to Wednesday are inside the seven days up to Wednesday
        want = sum(b.duration for b in my_bouts(day)) / 3600
        assert math.isclose(per_day[(W + day * week.DAY) * 1000], want)
    assert sum(per_day.values()) == pytest.approx(
        sum(b.duration for d in range(3) for b in my_bouts(d)) / 3600
    )
    alerts_breaks = dash.results("Week: alerts and breaks per day")
    alerts = dict(
        zip(
            alerts_breaks["A"][0].column("time"),
            alerts_breaks["A"][0].column("alerts"),
            strict=True,
        )
    )
    assert alerts[(W + 2 * week.DAY) * 1000] == sum(len(b.alert_times) for b in my_bouts(2))


def test_hub_backlog_panel_reads_the_hubs_own_samples(influx):
    """History samples its own spool once per period; the fleet board shows one series per hub."""
    dash = run(influx, "fleet-health", WEEK)
    series = dash.results("Hub history backlog")["A"]
    assert [s.tags["hub"] for s in series] == ["sitless-hub"]
    rows = [v for v in series[0].column("spooled points") if v is not None]
    assert len(rows) > 100
    assert all(v >= 0 for v in rows)
    assert set(series[0].column("dead letters")) <= {0, None}
