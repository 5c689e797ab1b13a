"""The facilities occupancy dashboard works when the hub keeps only aggregates.

Real: influxd, the hub's History with ``privacy = "aggregate"`` (no personal
database, so per-desk points go nowhere), the shipped dashboard. Stood in:
Grafana (tests/dashboards/grafana_runner.py) and the hub core
(tests/dashboards/week_script.py).
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from tests.dashboards import week_script as week
from tests.dashboards.expected import (
    BOARDS,
    MIN_INTERVAL,
    SAMPLES,
    SEATED,
    WEEK,
    hourly_utilisation,
    value,
)
from tests.dashboards.grafana_runner import DashboardRun, QueryFailedError

DATABASE = "dashboards_week_aggregate"
NEEDS_DESKS = {"Desks never used in the range"}  # documented: per-desk history only


@pytest.fixture(scope="module")
def aggregate(influxd, tmp_path_factory: pytest.TempPathFactory) -> Any:
    influxd.create_database(DATABASE)
    week.record(
        influxd.url, DATABASE, str(tmp_path_factory.mktemp("dash-aggregate")), privacy="aggregate"
    )
    body = influxd.query("SHOW MEASUREMENTS", DATABASE)
    names = {row[0] for row in body["results"][0]["series"][0]["values"]}
    assert "desk_state" not in names  # the premise: no per-desk data in this database
    return DashboardRun(
        influxd, DATABASE, BOARDS["facilities-occupancy"], WEEK, min_interval=MIN_INTERVAL
    )


def test_every_zone_panel_returns_data_without_desk_history(aggregate):
    """All panels but the one documented as needing per-desk history still answer."""
    failures = []
    for panel in aggregate.panels():
        for target in panel["targets"]:
            try:
                aggregate.query(panel, target)
            except QueryFailedError as exc:
                if panel["title"] not in NEEDS_DESKS:
                    failures.append(str(exc))
    assert not failures, "\n".join(failures)


def test_utilisation_is_the_same_as_with_desk_history(aggregate):
    (util,) = aggregate.single("Utilisation over the range").column("sum_sum")
    assert util == pytest.approx(sum(SEATED.values()) / (len(week.LOCATIONS) * len(SAMPLES)))
    hourly = hourly_utilisation()
    by_hour = aggregate.transformed("Utilisation by hour of day")
    want = statistics.fmean(hourly[(day, 10)] for day in range(7))
    assert value(by_hour, "10", "utilisation (mean)") == pytest.approx(want)
