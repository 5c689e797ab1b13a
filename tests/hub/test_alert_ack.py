"""A chair's ack of an alert reaches history: the same ``alert`` point, now ``acked``.

Real: the hub service with its MQTT transport on the session mosquitto, its
checkpoint, and the history spool (SQLite) it records into. Stood in: the
chair, by a real MQTT client (the probe) publishing what firmware would.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hub.core.service import HubService
from hub.history import History
from hub.history.spool import Spool
from hub.web import metrics
from hub.web.status import ServiceSource
from tests.hub.hubrig import Chair, alerts_on, hub_config
from tests.support.waiting import wait_until


def alert_points(state: Path, desk: str) -> list[tuple[dict[str, Any], int]]:
    """The spool's ``alert`` points for one desk, read as ``sitless report`` does: (fields, ts)."""
    path = state / "sitless-spool.sqlite3"
    if not path.exists():
        return []
    spool = Spool(path, 1 << 30)
    try:
        return [(p.fields, p.ts_ms) for p in spool.read(["alert"], 0, 1 << 62, desk)]
    finally:
        spool.close()


def test_an_acked_alert_overwrites_its_point_with_acked_and_strangers_are_ignored(
    mosquitto, probe, prefix, tmp_path
):
    state = tmp_path / "state"
    cfg = hub_config(mosquitto.url, prefix, state, sitting={"limit": 2, "escalate_after": 60})
    service = HubService(cfg, history=History(cfg))
    chair = Chair(probe, prefix, "desk-a")
    other = Chair(probe, prefix, "desk-b")
    probe.subscribe(f"{prefix}/+/cmd")
    service.start()
    try:
        wait_until(lambda: service.connected, timeout=30, what="hub connected")
        chair.online()
        other.online()
        chair.occupancy(seated=True)
        cmd = wait_until(
            lambda: alerts_on(probe, chair.topic("cmd")), timeout=30, what="the level 1 alert"
        )[0]
        wait_until(lambda: alert_points(state, chair.desk), timeout=30, what="alert spooled")
        [(fields, ts_ms)] = alert_points(state, chair.desk)
        assert fields["acked"] == 0

        # An unknown id, and the right id from the wrong desk: neither counts as an ack.
        probe.publish(other.topic("ack"), {"id": cmd["id"], "ok": True})
        probe.publish(chair.topic("ack"), {"id": "h000000-99", "ok": True})
        wait_until(
            lambda: service.counters.snapshot()["acks_unknown"] >= 2,
            timeout=30,
            what="strange acks counted",
        )
        assert alert_points(state, chair.desk)[0][0]["acked"] == 0

        probe.publish(chair.topic("ack"), {"id": cmd["id"], "ok": True})
        wait_until(
            lambda: alert_points(state, chair.desk)[0][0]["acked"] == 1,
            timeout=30,
            what="the alert point acked",
        )
        # the same point overwritten: same level, same time, and still only one
        assert alert_points(state, chair.desk) == [({**fields, "acked": 1}, ts_ms)]
        counts = service.counters.snapshot()
        assert counts["alerts_acked"] == 1
        assert counts["acks_unknown"] == 2
        # a redelivered ack records nothing more and is not a stranger
        probe.publish(chair.topic("ack"), {"id": cmd["id"], "ok": True})
        probe.publish(chair.topic("ack"), {"id": "h000000-98", "ok": True})
        wait_until(
            lambda: service.counters.snapshot()["acks_unknown"] >= 3,
            timeout=30,
            what="the later stranger counted",
        )
        assert service.counters.snapshot()["acks_unknown"] == 3
        assert service.counters.snapshot()["alerts_acked"] == 1
        page = metrics.render(metrics.registry(ServiceSource(service))).decode()
        assert "sitless_alerts_acked_total 1.0\n" in page
        assert "sitless_acks_unknown_total 3.0\n" in page
    finally:
        service.stop()
