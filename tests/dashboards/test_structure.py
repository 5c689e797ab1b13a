"""The shipped dashboards and provisioning files hang together.

Real: the dashboard JSON and provisioning YAML exactly as shipped, and the
query expansion Grafana's InfluxDB datasource performs (hub.integrations.grafana.expand).
Nothing is stood in; no server is needed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from hub.integrations.grafana import expand, push

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = sorted((ROOT / "dashboards").glob("*.json"))
PROVISIONING = ROOT / "dashboards" / "provisioning"
BUILTINS = {"timeFilter", "__interval", "__interval_ms", "__from", "__to"}
FORBIDDEN = re.compile(r"\b(INTEGRAL|SLIMIT|SOFFSET)\b|SHOW\s+DATABASES", re.IGNORECASE)


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def all_panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return [p for p in out if p.get("type") != "row"]


def test_three_dashboards_with_unique_stable_uids():
    """Each dashboard has its own fixed uid and title, and id null as provisioning wants."""
    boards = [load(p) for p in DASHBOARDS]
    assert {b["uid"] for b in boards} == {
        "sitless-occupancy",
        "sitless-fleet",
        "sitless-my-sitting",
    }
    assert len({b["title"] for b in boards}) == 3
    assert all(b["id"] is None for b in boards)


def test_datasource_uid_matches_the_provisioned_one():
    """Every panel, target and variable points at the datasource the provisioning file makes."""
    provisioned = yaml.safe_load((PROVISIONING / "datasources" / "sitless.yaml").read_text())
    (source,) = provisioned["datasources"]
    assert source["uid"] == push.DATASOURCE_UID
    assert source["type"] == "influxdb"
    assert source["jsonData"].get("version", "InfluxQL") == "InfluxQL"
    assert source["jsonData"]["timeInterval"] == push.MIN_INTERVAL
    for path in DASHBOARDS:
        board = load(path)
        refs = [v["datasource"] for v in board["templating"]["list"] if v["type"] == "query"]
        for panel in all_panels(board):
            refs.append(panel["datasource"])
            refs.extend(t["datasource"] for t in panel["targets"])
        assert refs
        assert all(r == {"type": "influxdb", "uid": source["uid"]} for r in refs), path.name


def test_dashboard_provider_loads_this_folder_into_the_sitless_folder():
    """The provider's folder uid is the one the push command uses too."""
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "sitless.yaml").read_text())
    (entry,) = provider["providers"]
    assert entry["type"] == "file"
    assert entry["folderUid"] == push.FOLDER_UID
    assert entry["options"]["path"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_panel_has_raw_influxql_targets(path):
    """Every panel queries; every query is raw InfluxQL that stays within a time window."""
    board = load(path)
    panel_ids = [p["id"] for p in all_panels(board)]
    assert len(panel_ids) == len(set(panel_ids))
    for panel in all_panels(board):
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            query = target["query"]
            assert target["rawQuery"] is True
            assert target["resultFormat"] in ("time_series", "table")
            assert not FORBIDDEN.search(query), panel["title"]
            assert "$timeFilter" in query or "${__to}ms" in query, panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_variables_are_defined_and_used_as_anchored_regexes(path):
    """Each variable a query names exists; multi-value ones are always written =~ /^$var$/."""
    board = load(path)
    variables = {v["name"]: v for v in board["templating"]["list"]}
    texts = [v["query"] for v in variables.values()]
    texts += [t["query"] for p in all_panels(board) for t in p["targets"]]
    for text in texts:
        for name in expand.referenced_variables(text):
            assert name in BUILTINS or name in variables, f"{path.name}: ${name}"
        for name in variables:
            uses = len(re.findall(rf"\${name}\b", text))
            anchored = len(re.findall(rf"=~ /\^\${name}\$/", text))
            assert uses == anchored, f"{path.name}: ${name} in {text}"
    for var in variables.values():
        if var["type"] == "textbox":  # the personal board's time zone for its days
            assert var["name"] == "timezone"
            continue
        assert var["type"] == "query"
        assert var["query"].upper().startswith("SHOW TAG VALUES FROM")


def test_days_are_the_time_zone_variables_days():
    """Every query grouping by day names the board's time zone, raw (a zone has a slash)."""
    board = load(ROOT / "dashboards" / "my-sitting.json")
    (zone,) = [v for v in board["templating"]["list"] if v["name"] == "timezone"]
    assert zone["query"] == "UTC"
    day_queries = [
        t["query"] for p in all_panels(board) for t in p["targets"] if "time(1d)" in t["query"]
    ]
    assert len(day_queries) >= 4
    for query in day_queries:
        assert query.count("time(1d)") == query.count("tz('${timezone:raw}')"), query
