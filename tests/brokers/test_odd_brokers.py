"""Brokers that are not plain mosquitto: what each does that the hub must survive.

Real: the ``sitless hub`` process and its status page, and each broker as its
own server on a free loopback port (aedes under Node.js from the npm
registry, amqtt, mosquitto with the setting named in the test). Stood in: the
ESP32, by a paho client that publishes what the firmware would.

Each test reproduces one finding of issue 16 (brokers that are not plain
mosquitto) against the hub's public behaviour: what reaches the chair, what
the hub announces on ``P/_hub/status``, its log and its counters.
"""

from __future__ import annotations

import time

from tests.brokers.brokers import Aedes
from tests.brokers.rig import BrokerHub, chair_probe, commands, sit, wait_command
from tests.support.mqttprobe import MqttProbe
from tests.support.servers import stop_all
from tests.support.waiting import wait_until

PREFIX = "t/x"  # short, so that the hub's views fit the tight packet sizes below
DESK = "desk-1"
CMD = f"{PREFIX}/{DESK}/cmd"
HUB_STATUS = f"{PREFIX}/_hub/status"
ON_TIME_S = 1.5  # how late an alert may be on a loaded two-core machine


def hub_statuses(probe: MqttProbe) -> list[bytes]:
    return [m.payload for m in probe.received(HUB_STATUS)]


def seat_and_wait_out_the_limit(probe: MqttProbe, hub: BrokerHub, *, qos: int = 1) -> float:
    probe.publish(f"{PREFIX}/{DESK}/status", "online", retain=True)
    seated = sit(probe, PREFIX, DESK, 1, seated=True, qos=qos)
    time.sleep(hub.limit + ON_TIME_S)
    return seated


def test_aedes_qos2_delivery_is_applied_once_and_the_link_stays_up(make_broker, tmp_path):
    """aedes forwards a QoS 2 publish at QoS 2 on the hub's QoS 1 subscription.

    Before the fix the hub called it malformed, dropped the link, got it again
    and looped; now it completes the QoS 2 exchange, applies the event once
    and alerts on time, on one connection.
    """
    broker = make_broker("aedes")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX, protocol="3.1.1")
    try:
        hub.start(probe)
        seated = seat_and_wait_out_the_limit(probe, hub, qos=2)
        alert = wait_command(probe, CMD, "alert", seated, timeout=2)
        assert alert["at"] - seated <= hub.limit + ON_TIME_S
        time.sleep(1.0)  # a looping hub reconnects within a second
        assert len(hub.connects()) == 1, hub.log()[-2000:]
        assert hub_statuses(probe)[-1] == b"online"
        assert hub.counters()["alerts_out"] == 1
        assert not [line for line in hub.lines("warning") if "malformed" in line]
    finally:
        hub.stop()
        probe.close()


def test_the_brokers_maximum_packet_size_is_obeyed_and_a_refused_alert_is_reported(
    make_broker, tmp_path
):
    """mosquitto ``max_packet_size 128`` announces 128 in CONNACK (property 0x27).

    Before the fix the hub sent its 150-byte alert anyway, was cut off, and
    sent it first again on every reconnect (169 disconnects, ``_hub/status``
    flapping, nothing above info in the log). Now it never sends a packet
    over the broker's maximum: the alert is reported at WARNING with its
    reason and counted, and the link stays up.
    """
    broker = make_broker("mosquitto-max-packet-size")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        seat_and_wait_out_the_limit(probe, hub)
        time.sleep(1.0)
        assert len(hub.connects()) == 1, hub.log()[-2000:]
        assert b"offline" not in hub_statuses(probe)
        warnings = [line for line in hub.lines("warning") if DESK in line and "128" in line]
        assert warnings, hub.log()[-2000:]
        assert "maximum packet size" in warnings[0]
        assert hub.counters().get("mqtt_refused_packet_too_large", 0) >= 1
        assert hub.metrics().get('sitless_mqtt_refused_total{reason="packet_too_large"}', 0) >= 1
        # What fits still goes: the chair's seated view was published.
        assert probe.received(f"{PREFIX}/{DESK}/sitting")
    finally:
        hub.stop()
        probe.close()


def test_a_publish_the_broker_refuses_is_a_warning_with_its_reason(make_broker, tmp_path):
    """mosquitto ``message_size_limit 120`` refuses the alert with PUBACK reason 0x95.

    Before the fix the refusal was logged only at debug and the chair never
    got its alert without anyone knowing. Now it is a WARNING naming the desk
    and the reason, and it is counted. (mosquitto 2.0.11 also closes the
    connection right after such a refusal; the hub reconnects once and does
    not send the refused message again.)
    """
    broker = make_broker("mosquitto-message-size-limit")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        seat_and_wait_out_the_limit(probe, hub)
        assert not commands(probe, CMD, "alert")
        warnings = [line for line in hub.lines("warning") if CMD in line]
        assert warnings, hub.log()[-2000:]
        assert "Packet too large" in warnings[0]
        assert "0x95" in warnings[0]
        assert hub.counters().get("mqtt_refused_packet_too_large", 0) >= 1
        time.sleep(1.5)  # a hub that sent it again would be cut off again within a second
        assert len(hub.connects()) <= 2, hub.log()[-2000:]
    finally:
        hub.stop()
        probe.close()


def test_a_refused_subscription_does_not_announce_the_hub_online(tmp_path):
    """A broker whose authorization refuses the hub's subscription (aedes, SUBACK 0x80).

    (mosquitto 2.0 grants any subscription and filters what it delivers by
    its ACL, so it never refuses one.) Before the fix the hub marked the link
    connected and announced ``online`` while it could hear no chair, so the
    chairs would not alert on their own. Now the refusal is a WARNING with its
    reason code, counted, and the hub's status stays ``offline``.
    """
    broker = Aedes(tmp_path / "aedes", deny_subscribe=f"{PREFIX}/+/+")
    broker.start()
    probe = MqttProbe(broker.host, broker.port)
    probe.subscribe(HUB_STATUS)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX, protocol="3.1.1")
    try:
        hub.proc.start()
        wait_until(
            lambda: [line for line in hub.lines("warning") if "subscription" in line],
            timeout=20,
            what="a warning about the refused subscription",
        )
        time.sleep(0.5)
        warning = next(line for line in hub.lines("warning") if "subscription" in line)
        assert "0x80" in warning
        assert hub_statuses(probe)[-1:] == [b"offline"]
        assert hub.counters().get("mqtt_refused_subscription", 0) >= 1
    finally:
        hub.stop()
        probe.close()
        stop_all(broker)


def test_an_empty_retained_payload_is_a_deletion_not_a_bad_payload(make_broker, tmp_path):
    """An empty retained payload is how MQTT deletes a retained message.

    Before the fix the hub counted and logged it as a bad payload. Now it is
    passed over quietly; a real event after it is still applied.
    """
    broker = make_broker("mosquitto")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    for kind in ("occupancy", "status", "sitting", "telemetry"):
        probe.publish(f"{PREFIX}/{DESK}/{kind}", "{}", retain=True)
        probe.publish(f"{PREFIX}/{DESK}/{kind}", b"", retain=True)  # stored, then deleted
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        for kind in ("occupancy", "status", "sitting", "telemetry"):
            probe.publish(f"{PREFIX}/desk-2/{kind}", b"", retain=True)  # live deletions
        seated = seat_and_wait_out_the_limit(probe, hub)
        wait_command(probe, CMD, "alert", seated, timeout=2)
        counters = hub.counters()
        assert counters["messages_dropped"] == 0, counters
        assert not hub.lines("warning"), hub.lines("warning")
    finally:
        hub.stop()
        probe.close()


def test_a_dropped_oversized_payload_is_logged_at_warning_and_counted(make_broker, tmp_path):
    """A chair's 1 MB telemetry on a broker without a size limit.

    Before the fix it was counted as ``too_large`` but never logged. Now a
    WARNING names the topic, the size and the limit; the hub goes on.
    """
    broker = make_broker("mosquitto")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        probe.publish(f"{PREFIX}/{DESK}/telemetry", b"x" * (1 << 20))
        wait_until(
            lambda: hub.counters().get("dropped_too_large"), timeout=10, what="the drop counted"
        )
        warnings = [line for line in hub.lines("warning") if f"{PREFIX}/{DESK}/telemetry" in line]
        assert warnings, hub.log()[-2000:]
        assert "1048576" in warnings[0]
        assert "4096" in warnings[0]
        seated = seat_and_wait_out_the_limit(probe, hub)
        wait_command(probe, CMD, "alert", seated, timeout=2)
        assert len(hub.connects()) == 1
    finally:
        hub.stop()
        probe.close()


def test_over_mqtt_311_the_hubs_own_publishes_are_not_taken_as_messages(make_broker, tmp_path):
    """amqtt speaks MQTT 3.1.1, which has no No Local: the hub gets its own publishes back.

    Before the fix each of its commands, views and status messages came back
    as a message in (seven for one alert). Now only the chair's two count.
    """
    broker = make_broker("amqtt")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX, protocol="3.1.1")
    try:
        hub.start(probe)
        seated = seat_and_wait_out_the_limit(probe, hub)
        wait_command(probe, CMD, "alert", seated, timeout=2)
        time.sleep(0.5)
        counters = hub.counters()
        assert counters["messages_in"] == 2, counters  # the chair's status and occupancy
        assert counters["messages_dropped"] == 0, counters
    finally:
        hub.stop()
        probe.close()


def test_another_client_taking_the_hubs_client_id_does_not_start_a_reconnect_fight(
    make_broker, tmp_path
):
    """A second client logs in with the hub's client id on a broker that does not prevent it.

    mosquitto 2.0.11 hands the session to the newcomer and closes the hub's
    connection without a word (no DISCONNECT 0x8E). Before the fix the hub
    reconnected at once, kicking the other off, over and over (20 times in
    20 s). Now two such closes in a row are a WARNING naming the client id,
    counted, and the hub waits before it tries again: a few seconds see at
    most three connections.
    """
    broker = make_broker("mosquitto")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        intruder = MqttProbe(broker.host, broker.port, client_id=hub.client_id)
        try:
            time.sleep(6.0)
            warnings = [line for line in hub.lines("warning") if "client id" in line]
            assert warnings, hub.log()[-2000:]
            assert hub.client_id in warnings[0]
            assert "takeover" in warnings[0]
            assert len(hub.connects()) <= 3, hub.log()[-3000:]
            assert hub.counters().get("mqtt_refused_closed_by_broker", 0) >= 1
        finally:
            intruder.client.disconnect()
            intruder.close()
    finally:
        hub.stop()
        probe.close()


def test_a_broker_that_lost_everything_gets_the_hubs_retained_views_again(make_broker, tmp_path):
    """mosquitto ``persistence false`` restarted: session present = 0, no retained message left.

    The hub subscribes again, says ``online``, and publishes the latest
    retained view of each desk again, so a newcomer (a dashboard, Home
    Assistant, a restarted hub seeding from views) sees the seated desk at
    once, without waiting for the chair's next event.
    """
    broker = make_broker("mosquitto-no-persistence")
    probe = chair_probe(broker.host, broker.port, PREFIX)
    hub = BrokerHub(tmp_path / "hub", broker.url, PREFIX)
    try:
        hub.start(probe)
        probe.publish(f"{PREFIX}/{DESK}/status", "online", retain=True)
        sit(probe, PREFIX, DESK, 1, seated=True)
        probe.wait_topic(f"{PREFIX}/{DESK}/sitting", where=lambda v: v.get("state") == "seated")
        probe.close()
        broker.stop()
        broker.start()
        wait_until(lambda: hub.connects()[1:] == [False], timeout=15, what="the hub reconnected")
        late = MqttProbe(broker.host, broker.port)
        try:
            late.subscribe(f"{PREFIX}/+/+")
            view = late.wait_topic(f"{PREFIX}/{DESK}/sitting", timeout=10)
            assert view.json()["state"] in {"seated", "alerting"}
            late.wait_for(lambda m: m.topic == HUB_STATUS and m.payload == b"online")
        finally:
            late.close()
        newcomer = MqttProbe(broker.host, broker.port)
        try:
            newcomer.subscribe(f"{PREFIX}/{DESK}/sitting")
            assert newcomer.wait_topic(f"{PREFIX}/{DESK}/sitting", timeout=5).retain
        finally:
            newcomer.close()
        assert len(hub.connects()) == 2, hub.log()[-2000:]
        # The broker's restart may cost a refused connection attempt; nothing else warns.
        warnings = [w for w in hub.lines("warning") if "cannot connect" not in w]
        assert not warnings, warnings
    finally:
        hub.stop()
