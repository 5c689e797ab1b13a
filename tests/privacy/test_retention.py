"""InfluxDB keeps desk-level data for its retention and zone aggregates longer, by its own policy.

Real: a private influxd 1.x, the `sitless history init` command, the hub's
own v1 writer (V1Sink) sending line protocol.
Stood in: nothing. The test retentions are InfluxDB's shortest (1 h for desk
data, 3 h for zones) so that a point 2 h old is past one and within the other.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from hub import config
from hub.history.retention import DESK_POLICY, ZONE_POLICY, plan
from hub.history.sinks import SinkRejectedError, V1Sink
from tests.support.hubproc import ROOT

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, url: str, name: str, privacy: str, desk: str = "1h") -> Path:
    path = tmp_path / "hub.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [history]
            api = "v1"
            url = "{url}"
            database = "{name}"
            personal_database = "{name}_personal"
            privacy = "{privacy}"
            desk_retention = "{desk}"
            zone_retention = "3h"
            """
        )
    )
    return path


def init(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "history", "init", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def policies(influxd, database: str) -> dict[str, tuple[str, bool]]:
    series = influxd.query(f'SHOW RETENTION POLICIES ON "{database}"')["results"][0]["series"][0]
    return {row[0]: (row[1], row[-1]) for row in series["values"]}


def test_history_init_sets_the_policies_and_the_database_enforces_them(tmp_path, influxd):
    name = f"ret{int(time.time() * 1000) % 10**9}"
    cfg_path = write_config(tmp_path, influxd.url, name, "aggregate")
    first = init(cfg_path)
    assert first.returncode == 0, first.stderr
    assert policies(influxd, name)[ZONE_POLICY] == ("3h0m0s", True)
    assert policies(influxd, f"{name}_personal")[DESK_POLICY] == ("1h0m0s", True)
    again = init(cfg_path)
    assert again.returncode == 0
    assert "already" in again.stdout

    cfg = config.load(cfg_path)
    sink = V1Sink(cfg.history)
    old_ms = int((time.time() - 2 * 3600) * 1000)
    new_ms = int(time.time() * 1000)
    # A desk point two hours old is past the personal database's 1 h: the database refuses it.
    with pytest.raises(SinkRejectedError, match="beyond retention"):
        sink.send("personal", [f"occupancy,desk=d1 seated=1i {old_ms}"])
    sink.send("personal", [f"occupancy,desk=d1 seated=1i {new_ms}"])
    # The same age is within the zone aggregates' 3 h in the main database.
    sink.send("main", [f"zone_occupancy,site=hq,floor=3,zone=n occupied=2i,desks=3i {old_ms}"])
    sink.close()
    kept = influxd.rows("SELECT * FROM occupancy", f"{name}_personal")
    assert len(kept) == 1
    assert kept[0]["time"] * 1000 >= new_ms - 1000
    assert len(influxd.rows("SELECT * FROM zone_occupancy", name)) == 1

    # A changed retention is applied to the existing policy.
    changed = init(write_config(tmp_path, influxd.url, name, "aggregate", desk="2h"))
    assert changed.returncode == 0, changed.stderr
    assert "changed" in changed.stdout
    assert policies(influxd, f"{name}_personal")[DESK_POLICY] == ("2h0m0s", True)


def test_the_defaults_are_30_days_for_desks_and_2_years_for_zones(tmp_path, influxd):
    cfg = config.from_mapping(
        {
            "history": {
                "api": "v1",
                "url": influxd.url,
                "database": "main",
                "personal_database": "personal",
                "privacy": "aggregate",
            }
        }
    )
    wanted = {(p.database, p.name): p.duration for p in plan(cfg.history)}
    assert wanted == {("main", ZONE_POLICY): "17520h", ("personal", DESK_POLICY): "720h"}
    desk_mode = cfg.history.model_copy(update={"privacy": "desk"})
    assert [(p.database, p.name, p.duration) for p in plan(desk_mode)] == [
        ("main", DESK_POLICY, "720h")
    ]


def test_an_unreachable_server_is_one_clear_line(tmp_path):
    cfg_path = write_config(tmp_path, "http://127.0.0.1:9", "x", "desk")
    out = init(cfg_path)
    assert out.returncode != 0
    assert "cannot reach http://127.0.0.1:9" in out.stderr
    assert "Traceback" not in out.stderr
