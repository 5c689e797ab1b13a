"""The v2 path: influxdb-client's synchronous write API against a real /api/v2/write server.

Real: victoria-metrics (accepts InfluxDB's /api/v2/write and lets us read back
what arrived), influxdb-client, the writer thread and spool; a loopback
recording proxy sits in between only to check the request shape. Stood in:
the hub core (facts recorded directly).
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request

from hub.core.facts import DeskSample, OccupancyChanged
from tests.history.helpers import make_cfg, wait_drained, wait_for
from tests.history.recording_proxy import RecordingProxy

# victoria-metrics drops samples older than its retention (a month), so stay recent.
T0 = float(int(time.time()) // 60 * 60 - 3600)
TOKEN = "s3cret-token-do-not-log"  # noqa: S105 - a test token for a private server


def _export(victoria, match: str) -> list[dict]:
    query = urllib.parse.urlencode({"match[]": match})
    with urllib.request.urlopen(f"{victoria.url}/api/v1/export?{query}", timeout=10) as resp:
        return [json.loads(line) for line in resp.read().decode().splitlines() if line.strip()]


def test_v2_write_reaches_the_server_with_org_bucket_precision_and_token(
    victoria, tmp_path, open_history, caplog
):
    desks = {"d1": {"site": "hq", "floor": "2", "zone": "quiet room"}}
    with RecordingProxy(victoria.url) as proxy, caplog.at_level(logging.DEBUG):
        cfg = make_cfg(
            tmp_path,
            desks=desks,
            api="v2",
            url=proxy.url,
            token=TOKEN,
            org="acme",
            bucket="sitless",
        )
        history = open_history(cfg)
        for i in range(10):
            history.record(OccupancyChanged("d1", T0 + 60 * i, bool(i % 2 == 0), i, 1.0))
        history.record(OccupancyChanged("desk ü, 2", T0, True, 99, 1.0))
        history.sample(T0, [DeskSample("d1", T0, True, 12.5, True)])
        stats = wait_drained(history)
    assert stats["dead_letters"] == 0
    assert stats["written"] == 13  # 11 transitions, one desk_state, one hub_spool

    writes = [seen for seen in proxy.seen if seen.path == "/api/v2/write"]
    assert writes
    for seen in writes:
        assert seen.method == "POST"
        assert seen.query["org"] == ["acme"]
        assert seen.query["bucket"] == ["sitless"]
        assert seen.query["precision"] == ["ms"]
        assert seen.headers["Authorization"] == f"Token {TOKEN}"
    assert TOKEN not in caplog.text

    series = wait_for(
        lambda: (
            (found := _export(victoria, '{__name__="occupancy_seq"}'))
            and sum(len(s["values"]) for s in found) == 11
            and found
        ),
        "victoria-metrics to show the occupancy points",
    )
    by_desk = {s["metric"]["desk"]: s for s in series}
    assert set(by_desk) == {"d1", "desk ü, 2"}
    d1 = by_desk["d1"]
    assert d1["metric"]["zone"] == "quiet room"
    assert d1["values"] == list(range(10))
    assert d1["timestamps"] == [int((T0 + 60 * i) * 1000) for i in range(10)]
    seated = wait_for(
        lambda: _export(victoria, '{__name__="desk_state_seated_s"}'), "the desk_state sample"
    )
    assert seated[0]["values"] == [12.5]
