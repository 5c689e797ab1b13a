"""A full spool (here: history.max_spool_mb reached while InfluxDB is down) never stops the hub.

Real: influxd (stopped, then started), the SQLite spool whose size cap raises
SQLite's own "database or disk is full", the writer thread. Stood in: the hub
core (facts recorded directly).
"""

from __future__ import annotations

import logging

import pytest

from hub.core.facts import OccupancyChanged
from tests.history.helpers import make_cfg, wait_drained, wait_for

T0 = 1_774_000_000.0


@pytest.mark.slow
def test_full_spool_drops_loudly_and_recovers_when_space_returns(
    private_influxd, tmp_path, open_history, caplog
):
    private_influxd.create_database("full")
    private_influxd.stop()
    cfg = make_cfg(tmp_path, api="v1", url=private_influxd.url, database="full", max_spool_mb=0.1)
    history = open_history(cfg)
    with caplog.at_level(logging.WARNING, logger="hub.history"):
        for seq in range(3000):
            history.record(OccupancyChanged("d", T0 + seq, True, seq, 1.0))
        full = history.stats()
        assert full["spool_full"] is True
        assert 0 < full["refused"] < 3000
        assert full["spool_bytes"] <= 0.1 * 1024 * 1024
        shouts = [r for r in caplog.records if "FULL" in r.getMessage()]
        assert len(shouts) == 1
        assert shouts[0].levelno == logging.ERROR

        private_influxd.start()
        wait_drained(history)
        for seq in range(3000, 3050):
            history.record(OccupancyChanged("d", T0 + seq, True, seq, 1.0))
        recovered = history.stats()
        assert recovered["spool_full"] is False
        assert recovered["refused"] == full["refused"]
        assert any("accepts points again" in r.getMessage() for r in caplog.records)
        wait_drained(history)

    kept = 3000 - full["refused"]
    rows = private_influxd.rows('SELECT "seq" FROM "occupancy"', "full")
    seqs = [row["seq"] for row in rows]
    # Everything accepted before the cap arrives, in order; the refused tail is missing;
    # everything after recovery arrives.
    assert seqs == [*range(kept), *range(3000, 3050)]
    wait_for(lambda: history.stats()["written"] == kept + 50, "the written count")
