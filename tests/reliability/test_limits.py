"""Limits that keep a flood from exhausting the hub: a bounded inbox and a payload cap.

Real: mosquitto, the hub's paho transport (its network thread fills the
inbox), a paho client flooding it. Stood in: the hub's owner thread, which
here never drains the inbox, as if it were stuck. The desk-count cap and the
counted, rate-limited drop log are tested in tests/hub/test_service.py and
tests/hub/test_service_parts.py.
"""

from __future__ import annotations

import queue
from collections import Counter

import pytest

from hub.config import LimitsConfig
from hub.mqtt import MqttTransport
from tests.reliability.rig import hub_cfg, occupancy, wait_until
from tests.support.mqttprobe import MqttProbe

pytestmark = pytest.mark.slow


def test_a_flood_fills_the_bounded_inbox_and_the_rest_is_counted_not_kept(mosquitto, prefix,
                                                                          tmp_path):
    cfg = hub_cfg(tmp_path, url=mosquitto.url, prefix=prefix)
    limits = LimitsConfig(queue_size=100, max_payload=256)
    inbox: queue.Queue[object] = queue.Queue(maxsize=limits.queue_size)
    drops: Counter[str] = Counter()

    def count(reason: str) -> None:
        drops[reason] += 1

    transport = MqttTransport(cfg.mqtt, limits, inbox, count)
    transport.start()
    flood = MqttProbe(mosquitto.host, mosquitto.port)
    try:
        wait_until(transport.connected.is_set, what="transport connected")
        flood.subscribe(f"{prefix}/_hub/status")  # the transport has subscribed by now
        for n in range(300):
            flood.publish(f"{prefix}/d{n % 7}/occupancy", occupancy(True, n, None))
        for _ in range(20):
            flood.publish(f"{prefix}/big/telemetry", b"x" * 257)
        wait_until(lambda: sum(drops.values()) + inbox.qsize() >= 320, timeout=30,
                   what="every message enqueued or counted")
        # The transport's own "online" is not among them: it subscribes with No Local.
        assert inbox.qsize() == 100
        assert drops["too_large"] == 20
        assert drops["queue_full"] == 320 - 100 - 20
    finally:
        flood.close()
        transport.stop()
