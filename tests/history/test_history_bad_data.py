"""Awkward tag values survive the trip, and lines the server refuses are set aside, not retried.

Real: influxd (InfluxDB 1.x), the writer thread, influxdb-client's escaping,
the SQLite spool with its dead-letter table. Stood in: the hub core (facts are
recorded directly).
"""

from __future__ import annotations

import logging
import urllib.request

from hub.contract.protocol import Telemetry
from hub.core.facts import AlertSent, OccupancyChanged, TelemetryReceived
from tests.history.helpers import make_cfg, wait_drained, wait_for

T0 = 1_772_000_000.0
AWKWARD = [
    'desk one, "quoted" = yes',
    "bücher-ß 你好 🙂",
    "back\\slash,comma=equals",
    "tab\tand  two spaces",
]


def test_awkward_desk_ids_and_locations_are_stored_exactly(influxd, tmp_path, open_history):
    influxd.create_database("awkward")
    site, floor, zone = 'Zürich HQ, "Main"', "3 = top", "north wing, ü"
    cfg = make_cfg(
        tmp_path,
        desks={"plain": {"site": site, "floor": floor, "zone": zone}},
        api="v1",
        url=influxd.url,
        database="awkward",
    )
    history = open_history(cfg)
    for i, desk in enumerate([*AWKWARD, "plain"]):
        history.record(OccupancyChanged(desk, T0 + i, True, i, 1.0))
    tel = Telemetry(
        desk="plain",
        ts=T0,
        uptime_ms=5,
        value=1.0,
        baseline=1.0,
        rssi=None,
        heap_free=1,
        fw='v1 "beta", ü=1',
        reconnects=0,
    )
    history.record(TelemetryReceived("plain", T0, tel))
    assert wait_drained(history)["dead_letters"] == 0

    rows = influxd.rows('SELECT "seq", "desk", "site", "floor", "zone" FROM "occupancy"', "awkward")
    by_seq = {row["seq"]: row for row in rows}
    # Line protocol cannot carry control characters in tags: a tab is stored as a space.
    want = [desk.replace("\t", " ") for desk in AWKWARD]
    assert [by_seq[i]["desk"] for i in range(len(AWKWARD))] == want
    plain = by_seq[len(AWKWARD)]
    assert (plain["desk"], plain["site"], plain["floor"], plain["zone"]) == (
        "plain",
        site,
        floor,
        zone,
    )
    health = influxd.rows('SELECT "heap_free", "fw", "rssi" FROM "device_health"', "awkward")
    assert [(h["fw"], h["rssi"]) for h in health] == [('v1 "beta", ü=1', None)]


def test_rejected_lines_go_to_dead_letters_and_the_rest_is_written(
    influxd, tmp_path, open_history, caplog
):
    influxd.create_database("rejects")
    # Make the server hold "seq" as a string in this shard, so our integer seq is refused (400).
    conflict = f'occupancy,desk=d seq="text" {int(T0 * 1000)}'.encode()
    req = urllib.request.Request(
        f"{influxd.url}/write?db=rejects&precision=ms", data=conflict, method="POST"
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 204

    cfg = make_cfg(tmp_path, api="v1", url=influxd.url, database="rejects", batch_size=64)
    history = open_history(cfg)
    with caplog.at_level(logging.ERROR, logger="hub.history"):
        for i in range(20):
            history.record(OccupancyChanged("d", T0 + 10 + i, True, i, 1.0))
            history.record(AlertSent("d", T0 + 10 + i, 1, 1800.0))
        stats = wait_drained(history)
    assert stats["dead_letters"] == 20
    alerts = influxd.rows('SELECT count("seated_s") FROM "alert"', "rejects")
    assert alerts[0]["count"] == 20
    assert any("dead-letter" in record.getMessage() for record in caplog.records)

    # The writer carries on with later points, and never retries the dead ones.
    history.record(AlertSent("d", T0 + 100, 2, 2100.0))
    wait_for(
        lambda: influxd.rows('SELECT count("seated_s") FROM "alert"', "rejects")[0]["count"] == 21,
        "a point recorded after the rejects",
    )
    final = wait_drained(history)
    assert final["dead_letters"] == 20
    assert final["written"] == 21
    spooled = history._require_spool().dead_letters()
    assert {status for _, _, status, _ in spooled} == {400}
    assert all(line.startswith("occupancy,") for _, line, _, _ in spooled)
