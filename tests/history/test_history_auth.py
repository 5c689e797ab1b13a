"""InfluxDB 1.x with authentication: a wrong password keeps every point, the right one delivers.

Real: influxd with auth-enabled (a private instance), HTTP basic credentials
sent by the v1 sink, the spool and writer. Stood in: the hub core.
"""

from __future__ import annotations

import base64
import json
import logging
import urllib.parse
import urllib.request

import pytest

from hub.core.facts import OccupancyChanged
from tests.history.helpers import make_cfg, wait_drained, wait_for
from tests.support.servers import Influxd, stop_all

T0 = 1_776_000_000.0
USER, PASSWORD = "hub", "right-horse-battery"
WRONG = "wrong-password-xyz"


def _query(server: Influxd, q: str, *, auth: bool = True, **params: str) -> dict:
    data = urllib.parse.urlencode({"q": q, "epoch": "s", **params}).encode()
    req = urllib.request.Request(f"{server.url}/query", data=data, method="POST")
    if auth:
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.fixture
def secured_influxd(tmp_path):
    server = Influxd(tmp_path / "influxd")
    server.conf_path.write_text(
        server.conf_path.read_text().replace("auth-enabled = false", "auth-enabled = true")
    )
    server.start()
    # With no users yet, influxd lets the first admin be created without credentials.
    _query(
        server, f"CREATE USER \"{USER}\" WITH PASSWORD '{PASSWORD}' WITH ALL PRIVILEGES", auth=False
    )
    _query(server, 'CREATE DATABASE "locked"')
    yield server
    stop_all(server)


def test_wrong_credentials_keep_points_and_right_ones_deliver(
    secured_influxd, tmp_path, open_history, caplog
):
    state = tmp_path / "state"
    wrong = make_cfg(
        state, api="v1", url=secured_influxd.url, database="locked", username=USER, password=WRONG
    )
    with caplog.at_level(logging.DEBUG):
        history = open_history(wrong)
        for seq in range(30):
            history.record(OccupancyChanged("d1", T0 + seq, True, seq, 1.0))
        refused = wait_for(
            lambda: (s := history.stats())["server_reachable"] is False and s,
            "the writer to be refused",
        )
        assert refused["spool_rows"] == 30
        assert refused["dead_letters"] == 0
        assert "401" in caplog.text
        history.close()

        right = make_cfg(
            state,
            api="v1",
            url=secured_influxd.url,
            database="locked",
            username=USER,
            password=PASSWORD,
        )
        history = open_history(right)
        stats = wait_drained(history)
    assert stats["written"] == 30
    assert stats["dead_letters"] == 0
    assert PASSWORD not in caplog.text
    assert WRONG not in caplog.text
    body = _query(secured_influxd, 'SELECT count("seq") FROM "occupancy"', db="locked")
    assert body["results"][0]["series"][0]["values"][0][1] == 30
