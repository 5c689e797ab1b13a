"""The hub's own MQTT client against a real broker, over MQTT 5 and 3.1.1.

Real: mosquitto (the session broker, or a private one that is restarted),
hub.mqtt.transport.MqttTransport with its network thread and socket, paho probes in
the role of the chairs and of a second subscriber. Stood in: the hub's owner
thread, which here takes messages off the inbox and acknowledges them by hand.
TLS is covered by tests/reliability/test_tls.py, the flood and size limits
by tests/reliability/test_limits.py.
"""

from __future__ import annotations

import queue
from collections.abc import Callable

import pytest

from hub.config import LimitsConfig
from hub.mqtt.inbox import Inbound
from hub.mqtt.transport import HUB_OFFLINE, HUB_ONLINE, MqttTransport
from tests.reliability.rig import hub_cfg
from tests.support.mqttprobe import MqttProbe
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

PROTOCOLS = ["5", "3.1.1"]


def take_until(
    inbox: queue.Queue[Inbound], done: Callable[[Inbound], bool], timeout: float = 30.0
) -> list[Inbound]:
    """Everything taken off the inbox up to and including the first message ``done`` accepts."""
    taken: list[Inbound] = []
    while True:
        try:
            taken.append(inbox.get(timeout=timeout))
        except queue.Empty:
            msg = f"no matching message within {timeout} s; took {taken[-10:]}"
            raise TimeoutError(msg) from None
        if done(taken[-1]):
            return taken


def with_payload(payload: bytes) -> Callable[[Inbound], bool]:
    return lambda m: m.payload == payload


def transport_for(
    cfg, inbox, drops: list[str] | None = None, limits: LimitsConfig | None = None
) -> MqttTransport:
    return MqttTransport(
        cfg.mqtt, limits or cfg.limits, inbox, (drops if drops is not None else []).append
    )


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_messages_in_commands_out_online_and_offline_announced(mosquitto, prefix, tmp_path, proto):
    """Messages arrive on the inbox with what their acknowledgement needs; publishes go out;
    ``online`` and ``offline`` are retained on the hub status topic. MQTT 5 subscribes
    with No Local, so the hub's own command does not come back; 3.1.1 cannot ask that, so
    there the transport passes its own live command over on arrival (acknowledged, not
    counted as a drop, never in the inbox)."""
    cfg = hub_cfg(tmp_path, url=mosquitto.url, prefix=prefix, mqtt={"protocol": proto})
    status = f"{prefix}/_hub/status"
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=100)
    drops: list[str] = []
    transport = transport_for(cfg, inbox, drops)
    probe = MqttProbe(mosquitto.host, mosquitto.port)
    probe.subscribe(f"{prefix}/+/+")
    transport.start()
    try:
        wait_until(transport.connected.is_set, what="transport connected")
        assert transport.connects == 1
        probe.wait_for(lambda m: m.topic == status and m.payload == HUB_ONLINE)
        probe.publish(f"{prefix}/d1/occupancy", b'{"n":1}')
        first = take_until(inbox, lambda m: m.topic.endswith("/occupancy"))[-1]
        assert (first.topic, first.payload, first.qos, first.retain) == (
            f"{prefix}/d1/occupancy",
            b'{"n":1}',
            1,
            False,
        )
        assert 1 <= first.mid <= 65535
        assert first.link > 0
        assert first.received > 0
        transport.ack([first])

        transport.publish(f"{prefix}/d1/cmd", b"hello")
        probe.wait_for(lambda m: m.topic == f"{prefix}/d1/cmd" and m.payload == b"hello")
        probe.publish(f"{prefix}/d1/marker", b"after")
        taken = take_until(inbox, with_payload(b"after"))
        echoed = [m.payload for m in taken if m.topic == f"{prefix}/d1/cmd"]
        assert echoed == []
        transport.ack(taken)
    finally:
        transport.stop()
        probe.close()
    assert not transport.connected.is_set()
    assert drops == []
    late = MqttProbe(mosquitto.host, mosquitto.port)
    try:
        late.subscribe(status)
        got = late.wait_for(lambda m: m.topic == status)
        assert (got.payload, got.retain) == (HUB_OFFLINE, True)
    finally:
        late.close()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_the_session_keeps_what_arrived_while_the_hub_was_away(mosquitto, prefix, tmp_path, proto):
    """The broker keeps the session across a clean stop: a message published while the
    hub is away, and one it took but never acknowledged, both arrive after it comes back."""
    cfg = hub_cfg(tmp_path, url=mosquitto.url, prefix=prefix, mqtt={"protocol": proto})
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=100)
    probe = MqttProbe(mosquitto.host, mosquitto.port)
    first = transport_for(cfg, inbox)
    first.start()
    try:
        wait_until(first.connected.is_set, what="first transport connected")
        probe.publish(f"{prefix}/d1/occupancy", b"unacked")
        take_until(inbox, with_payload(b"unacked"))
    finally:
        first.stop()
    probe.publish(f"{prefix}/d1/occupancy", b"while away")
    second = transport_for(cfg, inbox)
    second.start()
    try:
        taken = take_until(inbox, with_payload(b"while away"))
        # Over 3.1.1 the hub's own status announcements come back too (no No Local).
        chair = [m.payload for m in taken if m.topic == f"{prefix}/d1/occupancy"]
        assert chair == [b"unacked", b"while away"]
        second.ack(taken)
    finally:
        second.stop()
        probe.close()


@pytest.mark.parametrize("proto", PROTOCOLS)
def test_after_a_broker_restart_queued_publishes_go_out_and_stale_acks_do_not(
    private_mosquitto, prefix, tmp_path, proto
):
    """A publish made while the broker is down goes out after the reconnect. A message
    taken on one connection and acknowledged after the next has started is not
    acknowledged there: the broker sends it again on every new connection until an
    acknowledgement on the connection it came on says it is done."""
    broker = private_mosquitto
    cfg = hub_cfg(tmp_path, url=broker.url, prefix=prefix, mqtt={"protocol": proto})
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=100)
    transport = transport_for(cfg, inbox)
    transport.start()
    try:
        wait_until(transport.connected.is_set, what="transport connected")
        chair = MqttProbe(broker.host, broker.port)
        chair.publish(f"{prefix}/d1/occupancy", b"redelivered")
        chair.close()
        on_first = take_until(inbox, with_payload(b"redelivered"))[-1]

        broker.stop()
        wait_until(lambda: not transport.connected.is_set(), what="transport saw the broker go")
        transport.publish(f"{prefix}/d1/cmd", b"queued while down", retain=True)
        broker.start()
        wait_until(
            lambda: transport.connects == 2 and transport.connected.is_set(),
            timeout=60,
            what="transport reconnected",
        )
        on_second = take_until(inbox, with_payload(b"redelivered"))[-1]
        assert on_second.link != on_first.link
        transport.ack([on_first])  # stale: must not be written on the new connection

        reader = MqttProbe(broker.host, broker.port)
        try:
            reader.subscribe(f"{prefix}/d1/cmd")
            reader.wait_for(lambda m: m.payload == b"queued while down")
        finally:
            reader.close()

        broker.restart()
        wait_until(
            lambda: transport.connects == 3 and transport.connected.is_set(),
            timeout=60,
            what="transport reconnected again",
        )
        on_third = take_until(inbox, with_payload(b"redelivered"))[-1]
        transport.ack([on_third])  # current: written before the publish below
        reader = MqttProbe(broker.host, broker.port)
        try:
            reader.subscribe(f"{prefix}/d1/cmd")
            transport.publish(f"{prefix}/d1/cmd", b"after the ack")
            reader.wait_for(lambda m: m.payload == b"after the ack")
        finally:
            reader.close()

        broker.restart()
        wait_until(
            lambda: transport.connects == 4 and transport.connected.is_set(),
            timeout=60,
            what="transport reconnected a third time",
        )
        chair = MqttProbe(broker.host, broker.port)
        chair.publish(f"{prefix}/d1/occupancy", b"marker")
        chair.close()
        taken = take_until(inbox, with_payload(b"marker"))
        assert b"redelivered" not in [m.payload for m in taken]
    finally:
        transport.stop()


def test_a_message_larger_than_one_read_arrives_whole(mosquitto, prefix, tmp_path):
    """A payload spread over many socket reads (and TCP segments) is put together before
    it is parsed, and the message behind it still arrives."""
    cfg = hub_cfg(tmp_path, url=mosquitto.url, prefix=prefix)
    inbox: queue.Queue[Inbound] = queue.Queue(maxsize=100)
    drops: list[str] = []
    transport = transport_for(cfg, inbox, drops, LimitsConfig(max_payload=1 << 20))
    transport.start()
    probe = MqttProbe(mosquitto.host, mosquitto.port)
    big = bytes(range(256)) * 3000  # 768 KB
    try:
        wait_until(transport.connected.is_set, what="transport connected")
        probe.publish(f"{prefix}/d1/telemetry", big)
        probe.publish(f"{prefix}/d1/telemetry", b"small")
        taken = take_until(inbox, with_payload(b"small"))
        assert [m.payload for m in taken] == [big, b"small"]
        transport.ack(taken)
    finally:
        probe.close()
        transport.stop()
    assert drops == []
