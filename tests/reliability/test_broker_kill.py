"""Fault 1: the broker is SIGKILLed and restarted in the middle of a stream of events.

Real: mosquitto with the documented settings (persistence, autosave, no
count limit on queues; see docs/protocol.md), killed with SIGKILL and started
again on the same port; the hub service with its own MQTT transport; a paho
publisher that behaves as the firmware does (QoS 1, a persistent session,
every message kept until the broker acknowledges it and sent again after a
reconnect). Stood in: the chairs (that publisher) and the history store (a
list, so the test can see exactly which events the hub processed).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from hub.core.facts import OccupancyChanged, TelemetryReceived
from hub.core.service import HubService
from tests.reliability.rig import ListHistory, hub_cfg, occupancy
from tests.support.servers import Mosquitto
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = [f"desk-{n}" for n in range(5)]
EVENTS_PER_DESK = 60


class Firmware:
    """A publisher that keeps each QoS 1 message until PUBACK, across reconnects."""

    def __init__(self, host: str, port: int) -> None:
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"chairs-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5,
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.max_queued_messages_set(0)
        self.connected = threading.Event()
        self.client.on_connect = lambda *_a: self.connected.set()
        self.client.on_disconnect = lambda *_a: self.connected.clear()
        self.acked: set[int] = set()
        self.client.on_publish = lambda _c, _u, mid, *_a: self.acked.add(mid)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect(host, port, keepalive=5, clean_start=False, properties=props)
        self.client.loop_start()
        self.mids: list[int] = []

    def publish(self, topic: str, payload: bytes) -> None:
        # While disconnected paho answers "no connection" but keeps the message to send later.
        self.mids.append(self.client.publish(topic, payload, qos=1, retain=True).mid)

    def all_acknowledged(self) -> bool:
        return set(self.mids) <= self.acked

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


HEARTBEAT = json.dumps(
    {
        "ts": None,
        "uptime_ms": 90_000,
        "value": 200.0,
        "baseline": 200.0,
        "rssi": -60,
        "heap_free": 30_000,
        "fw": "0.1.0",
        "reconnects": 1,
    }
).encode()


def saved_twice_after(broker: Mosquitto, since: float) -> Callable[[], bool]:
    """Whether the broker's persistence file has been written twice since ``since``."""
    saves: set[float] = set()
    db = broker.workdir / "mosquitto.db"

    def check() -> bool:
        with contextlib.suppress(FileNotFoundError):
            mtime = db.stat().st_mtime
            if mtime > since:
                saves.add(mtime)
        return len(saves) >= 2

    return check


def test_broker_sigkill_mid_stream_loses_no_event_and_applies_none_twice(
    private_mosquitto, tmp_path
):
    broker = private_mosquitto
    cfg = hub_cfg(tmp_path / "state", url=broker.url, sitting={"limit": 3600})
    history = ListHistory()
    service = HubService(cfg, history=history)
    service.start()
    chairs = Firmware(broker.host, broker.port)
    sent: set[tuple[str, int]] = set()
    try:
        wait_until(lambda: service.connected and chairs.connected.is_set(), what="both connected")
        # The broker must have saved the hub's session (its subscription) once, as it will
        # have in service: it autosaves every second here. A broker killed before its first
        # save has never heard of the hub after a restart and keeps nothing for it. The hub
        # counts as connected once subscribed, so the second save finished after this began
        # after the subscription (the first may have begun before it).
        wait_until(saved_twice_after(broker, time.time()), what="the broker saved the session")
        kill_at = EVENTS_PER_DESK // 3
        for n in range(1, EVENTS_PER_DESK + 1):
            for desk in DESKS:
                chairs.publish(f"rel/{desk}/occupancy", occupancy(n % 2 == 1, n, time.time()))
                sent.add((desk, n))
            time.sleep(0.02)
            if n == kill_at:
                broker.kill()
            if n == kill_at + 10:
                broker.start()  # events 21..30 were published while it was gone
        wait_until(chairs.all_acknowledged, timeout=60, what="every event acknowledged")

        def processed() -> set[tuple[str, int]]:
            return {(f.desk, f.seq) for f in list(history.facts) if isinstance(f, OccupancyChanged)}

        # On a timeout the assertion below names the events that never reached the hub.
        with contextlib.suppress(TimeoutError):
            wait_until(lambda: processed() >= sent, timeout=60, what="every event processed")
        assert processed() >= sent
        # A heartbeat sent now queues behind anything the broker still had to deliver again:
        # once the hub has heard it, a late redelivery would be in the facts, so a double shows.
        chairs.publish("rel/desk-0/telemetry", HEARTBEAT)
        wait_until(
            lambda: any(isinstance(f, TelemetryReceived) for f in list(history.facts)),
            timeout=60,
            what="the heartbeat after the stream",
        )
        applied = [(f.desk, f.seq) for f in list(history.facts) if isinstance(f, OccupancyChanged)]
        assert processed() == sent
        assert len(applied) == len(sent), "an event was applied twice"
        assert service.transport.connects >= 2, "the hub did not reconnect"  # type: ignore[attr-defined]
        views = {v.view.desk: v.view.state for v in service.views()}
        assert views == dict.fromkeys(DESKS, "vacant")  # the 60th event is a stand
    finally:
        chairs.close()
        service.stop()
