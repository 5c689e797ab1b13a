"""Limits that keep a flood from exhausting the hub: a bounded inbox and a payload cap.

Real: mosquitto, the hub's MQTT transport (its network thread fills the
inbox), a paho client flooding it. Stood in: the hub's owner thread, which
here drains the inbox only once it is full, as if it had been stuck. The desk-count cap and the
counted, rate-limited drop log are tested in tests/hub/test_service.py and
tests/hub/test_service_parts.py.
"""

from __future__ import annotations

import json
import queue
from collections import Counter

import pytest

from hub.config import LimitsConfig
from hub.mqtt.inbox import Inbound
from hub.mqtt.transport import MqttTransport
from tests.reliability.rig import hub_cfg, occupancy
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow


def test_a_flood_is_held_to_the_bounded_inbox_and_none_of_it_is_lost(mosquitto, prefix, tmp_path):
    """The inbox never holds more than its bound. The transport announces a receive
    maximum of half of it and acknowledges only what was taken off the inbox, so
    the broker keeps the rest of a flood; mosquitto 2.0.11 sometimes sends beyond
    that maximum, and then the transport stops reading until the inbox has room,
    so every message still arrives, once. Oversized payloads are refused and
    counted."""
    cfg = hub_cfg(tmp_path, url=mosquitto.url, prefix=prefix)
    limits = LimitsConfig(queue_size=100, max_payload=256)
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=limits.queue_size)
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
        wait_until(
            lambda: inbox.qsize() >= transport.receive_maximum,
            timeout=30,
            what="the inbox filled to the receive maximum",
        )
        assert inbox.qsize() <= limits.queue_size
        got: list[int] = []
        while len(got) + drops["queue_full"] < 300:
            try:
                taken = [inbox.get(timeout=30) for _ in range(max(1, inbox.qsize()))]
            except queue.Empty:
                break  # the assertion below says how many came
            got += [json.loads(m.payload)["seq"] for m in taken]
            transport.ack(taken)  # as the owner thread does after each batch
        # The transport's own "online" is not among them: it subscribes with No Local.
        assert not drops  # nothing dropped: not "queue_full", not anything else
        assert sorted(got) == list(range(300))
        # Oversized payloads are refused, counted, and acknowledged with the next batch.
        for _ in range(20):
            flood.publish(f"{prefix}/big/telemetry", b"x" * 257)
        wait_until(lambda: drops["too_large"] >= 20, timeout=30, what="oversized counted")
        transport.ack([])
        assert drops["too_large"] == 20
        assert inbox.empty()
    finally:
        flood.close()
        transport.stop()
