"""Fault 5: the history spool is full (``history.max_spool_mb`` reached) while InfluxDB is down.

Real: influxd (stopped, then started again), the hub's SQLite spool whose size
cap fails inserts with SQLite's own "database or disk is full" (the same path
a full disk takes), the history writer thread, and hub.core.service with its
desk state machines and checkpoint. Stood in: the clock (injected, so hours of
sampling pass quickly), the broker link (a recorder of what the hub sends).
The spool's own behaviour when full is tested in tests/history; this test
shows the hub around it keeps alerting.
"""

from __future__ import annotations

import logging
import time

import pytest

from hub.core.service import HubService
from hub.history import History
from tests.reliability.rig import FakeClock, RecordingLink, deliver, hub_cfg, occupancy, tick

pytestmark = pytest.mark.slow

DESKS = [f"d{n:03d}" for n in range(200)]
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def wait(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    pytest.fail(f"{what} not met within {timeout} s")


def test_full_spool_is_loud_alerts_go_on_and_history_recovers(private_influxd, tmp_path, caplog):
    private_influxd.create_database("hist")
    private_influxd.stop()
    cfg = hub_cfg(
        tmp_path / "state",
        schedule={"days": ALL_DAYS},
        history={
            "api": "v1",
            "url": private_influxd.url,
            "database": "hist",
            "max_spool_mb": 0.5,
            "sample_period": 60,
        },
    )
    clock, link = FakeClock(), RecordingLink()
    history = History(cfg)
    service = HubService(cfg, history=history, transport=link, clock=clock)
    history.start()
    try:
        with caplog.at_level(logging.WARNING, logger="hub.history"):
            for desk in DESKS:
                deliver(service, clock, f"rel/{desk}/occupancy", occupancy(True, 1, clock()))
            tick(service, clock, 60)  # the limit: every desk is alerting from here on
            assert len(link.alerts()) == len(DESKS)
            minutes = 0
            while not history.stats()["spool_full"]:
                tick(service, clock, 60)
                minutes += 1
                assert minutes < 600, "the spool never filled"
            shouts = [r for r in caplog.records if "FULL" in r.getMessage()]
            assert len(shouts) == 1
            assert shouts[0].levelno == logging.ERROR
            assert "DROPPED" in shouts[0].getMessage()

            # Full, and the hub keeps alerting every desk (level 3 repeats every 30 s).
            before = len(link.alerts())
            for _ in range(20):
                tick(service, clock, 30)
            assert len(link.alerts()) - before == 20 * len(DESKS)
            assert history.stats()["spool_full"] is True
            assert history.stats()["refused"] > 0
            assert history.stats()["spool_bytes"] <= 0.5 * 1024 * 1024

            # Space returns (the server is back and the writer drains): points are kept again.
            private_influxd.start()
            wait(lambda: history.stats()["spool_rows"] == 0, "the spool drained")
            for desk in DESKS[:5]:
                deliver(service, clock, f"rel/{desk}/occupancy", occupancy(False, 2, clock()))
            tick(service, clock, 60)
            assert history.stats()["spool_full"] is False
            assert any("accepts points again" in r.getMessage() for r in caplog.records)
        stands_q = 'SELECT "seq", "desk" FROM "occupancy" WHERE "seq" = 2'
        wait(lambda: private_influxd.rows(stands_q, "hist"), "the stands in InfluxDB")
        stands = private_influxd.rows(stands_q, "hist")
        assert sorted(r["desk"] for r in stands) == DESKS[:5]
    finally:
        history.close()
        service.checkpoint.close()
