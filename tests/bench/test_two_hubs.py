"""Two hubs on two prefixes share one broker and never handle the same desk.

This is how a fleet larger than one hub splits (docs/scaling.md): one hub per
topic prefix, such as one per site. Real: mosquitto (the session broker), two
hub services with their own MQTT connections, checkpoints and state folders,
and a paho client in the role of the chairs. Stood in: the chairs themselves
(the client publishes what firmware publishes).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from hub import config
from hub.core.service import HubService
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = ("d1", "d2", "d3")


def hub_for(broker_url: str, prefix: str, state: Path) -> HubService:
    cfg = config.from_mapping(
        {
            "mqtt": {
                "url": broker_url,
                "prefix": prefix,
                "client_id": f"hub-{uuid.uuid4().hex[:10]}",
                "keepalive": 5,
            },
            "sitting": {"limit": 1, "min_break": 1, "escalate_after": 30},
            "state_dir": str(state),
        }
    )
    return HubService(cfg)


def test_each_desk_is_handled_by_the_hub_of_its_prefix_only(mosquitto, probe, prefix, tmp_path):
    """Real broker and hubs; chairs stood in by a real MQTT client (see module doc)."""
    site_a, site_b = f"{prefix}/site-a", f"{prefix}/site-b"
    probe.subscribe(f"{prefix}/#")
    hubs = {
        site_a: hub_for(mosquitto.url, site_a, tmp_path / "a"),
        site_b: hub_for(mosquitto.url, site_b, tmp_path / "b"),
    }
    for hub in hubs.values():
        hub.start()
    try:
        for site in hubs:
            probe.wait_topic(f"{site}/_hub/status", 20, where=lambda p: p == "online")
        # The same desk ids exist on both sites: they are different desks.
        for site in hubs:
            for desk in DESKS:
                probe.publish(
                    f"{site}/{desk}/occupancy",
                    {
                        "seated": True,
                        "seq": 1,
                        "boot": "b1",
                        "ts": time.time(),
                        "uptime_ms": 1000,
                        "value": 1800.0,
                    },
                )
        cmd_topics = [f"{site}/{desk}/cmd" for site in hubs for desk in DESKS]
        wait_until(lambda: all(probe.received(t) for t in cmd_topics), 30, "an alert per desk")
        time.sleep(1.5)  # room for a second hub's alert, if one were handling the desk too

        for site, hub in hubs.items():
            with hub._lock:
                known = dict(hub.registry.prefix_of)
            assert sorted(known) == sorted(DESKS)
            assert set(known.values()) == {site}
            assert hub.counters.snapshot()["alerts_out"] == len(DESKS)

        alerts = Counter(
            m.topic
            for m in probe.received()
            if m.topic.endswith("/cmd") and m.json().get("action") == "alert"
        )
        assert alerts == Counter(dict.fromkeys(cmd_topics, 1))
        # Each hub announced itself under its own prefix and nowhere else.
        statuses = {m.topic for m in probe.received() if m.topic.endswith("/_hub/status")}
        assert statuses == {f"{site_a}/_hub/status", f"{site_b}/_hub/status"}
    finally:
        for hub in hubs.values():
            hub.stop()
