"""What the dashboards must show for the week in week_script, worked out from the script alone.

Shared by the tests that play that week into InfluxDB in different privacy modes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hub.integrations.grafana.expand import TimeRange
from tests.dashboards import week_script as week

ROOT = Path(__file__).resolve().parents[2]
BOARDS = {p.stem: json.loads(p.read_text()) for p in sorted((ROOT / "dashboards").glob("*.json"))}
DATASOURCE = yaml.safe_load(
    (ROOT / "dashboards/provisioning/datasources/sitless.yaml").read_text()
)["datasources"][0]
MIN_INTERVAL = DATASOURCE["jsonData"]["timeInterval"]
DATABASE = "dashboards_week"

W = int(week.WEEK_START)
WEEK = TimeRange(W * 1000, (W + 7 * week.DAY - week.STEP) * 1000)  # Mon 00:00 .. Sun 23:55
FRIDAY_1030 = W + 4 * week.DAY + 10 * 3600 + 30 * 60
UP_TO_FRIDAY_1030 = TimeRange(W * 1000, FRIDAY_1030 * 1000)
WEDNESDAY = TimeRange((W + 2 * week.DAY) * 1000, (W + 3 * week.DAY) * 1000 - 1)

# --- what the script implies ---------------------------------------------------------


def seated(ts: float) -> int:
    return sum(week.seated_since(desk, ts) is not None for desk in week.LOCATIONS)


SAMPLES = list(week.sample_times())
SEATED = {ts: seated(ts) for ts in SAMPLES}
DESK_COUNT = len(week.LOCATIONS)


def hourly_utilisation() -> dict[tuple[int, int], float]:
    """(day 0-6, hour) -> seated desk-samples over known desk-samples in that hour."""
    out: dict[tuple[int, int], list[int]] = {}
    for ts in SAMPLES:
        key = (int(ts - W) // week.DAY, int(ts - W) % week.DAY // 3600)
        out.setdefault(key, []).append(SEATED[ts])
    return {key: sum(v) / (DESK_COUNT * len(v)) for key, v in out.items()}


def value(frame: dict[str, list[Any]], label: str, field: str) -> Any:
    return frame[field][frame["Time"].index(label)]
