"""The firmware's MQTT client given messages at QoS 2: PUBREC, PUBCOMP, and each handed on once.

Real: MicroPython running sitless/mqtt.py (and, against aedes, the whole App);
mosquitto with one message in flight at a time, so the next QoS 2 message
comes only once the last exchange ended with the client's PUBCOMP; aedes,
which delivers a QoS 2 publish at QoS 2 even on the chair's QoS 1
subscription; paho publishing at QoS 2. Stood in: the hardware (fakes), and
for the byte-level exchange (a resend with DUP before PUBREL, an id used
again, a message over the cap) a server in the script speaking the broker's
half.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.brokers.brokers import Aedes, MosquittoVariant
from tests.firmware.device import Device, SessionWatcher
from tests.support.servers import free_port, stop_all
from tests.support.upython import micropython_binary, micropython_path, run_micropython
from tests.support.waiting import wait_until

MP = Path(__file__).resolve().parent / "mp"
SCRIPT = MP / "mqtt_qos2.py"


def publisher(host: str, port: int) -> paho.Client:
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"q2-{uuid.uuid4().hex[:8]}")
    client.connect(host, port, keepalive=10)
    client.loop_start()
    return client


def test_a_resend_before_pubrel_is_answered_but_not_handed_on_again():
    """Real interpreter and client; the broker's half is the script's own server."""
    result = run_micropython(SCRIPT, "scripted", str(free_port()), timeout=60)
    steps = [line[5:] for line in result.stdout.splitlines() if line.startswith("STEP ")]
    assert steps == ["exactly_once", "over_the_cap_answered"], result.stdout + result.stderr
    assert [line for line in result.stdout.splitlines() if line.startswith("GOT ")] == [
        "GOT one",
        "GOT two",
    ]
    assert "over the 8192-byte cap" in result.stdout
    assert result.returncode == 0


def test_each_qos2_exchange_with_mosquitto_ends_so_the_next_message_comes(tmp_path, prefix):
    """Real mosquitto (one message in flight), interpreter and client; paho publishes.

    Mosquitto sends the second message only once the client's PUBCOMP ended the
    first exchange: a PUBACK in place of PUBREC, or no PUBCOMP, would leave the
    first in flight for ever and the other two would never come.
    """
    broker = MosquittoVariant(tmp_path / "broker", {"max_inflight_messages": "1"})
    broker.start()
    proc = subprocess.Popen(
        [micropython_binary(), str(SCRIPT), "broker", broker.host, str(broker.port), prefix],
        env=dict(os.environ, MICROPYPATH=micropython_path()),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stdout or ()), daemon=True)
    reader.start()
    sender = publisher(broker.host, broker.port)
    try:
        wait_until(lambda: "READY\n" in lines, 20, "the client subscribed")
        for body in (b"m1", b"m2", b"m3"):
            sender.publish(f"{prefix}/q2", body, qos=2).wait_for_publish(10)
        assert proc.wait(timeout=60) == 0, "".join(lines)
        reader.join(10)
        assert [line for line in lines if line.startswith("GOT ")] == [
            "GOT m1\n",
            "GOT m2\n",
            "GOT m3\n",
        ], "".join(lines)
        assert "DONE\n" in lines
    finally:
        sender.loop_stop()
        sender.disconnect()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        stop_all(broker)


def test_the_chair_acts_once_on_a_command_aedes_delivers_at_qos2(tmp_path, prefix):
    """Real aedes, the whole firmware under MicroPython, paho; the hardware stood in.

    The chair subscribes to its commands at QoS 1; aedes forwards a QoS 2
    publish at QoS 2 all the same. Each command is carried out and acked
    once, and the link stays up.
    """
    broker = Aedes(tmp_path / "aedes")
    broker.start()
    base = f"{prefix}/d1"
    watcher = SessionWatcher(broker.host, broker.port, f"{base}/#")
    sender = publisher(broker.host, broker.port)
    cfg = {
        "desk": "d1",
        "wifi_ssid": "test",
        "mqtt_host": broker.host,
        "mqtt_port": broker.port,
        "prefix": prefix,
        "sample_ms": 50,
    }
    device = Device(tmp_path, cfg)
    try:
        wait_until(lambda: b"online" in watcher.payloads(f"{base}/status"), 20, "status online")
        device.wait_line(lambda line: line.startswith("mqtt: connected"))
        for cmd_id in ("q-1", "q-2"):
            body = '{"id": "%s", "action": "identify"}' % cmd_id  # noqa: UP031
            sender.publish(f"{base}/cmd", body, qos=2).wait_for_publish(10)
            wait_until(
                lambda cmd_id=cmd_id: {"id": cmd_id, "ok": True} in watcher.json(f"{base}/ack"),
                20,
                f"the ack of {cmd_id}",
            )
        time.sleep(2)  # time for a second delivery, were there one
        acks = [a["id"] for a in watcher.json(f"{base}/ack")]
        assert acks == ["q-1", "q-2"], acks
        output = device.output()
        assert len([x for x in output if x.startswith("mqtt: connected")]) == 1, output[-20:]
        assert not [x for x in output if x.startswith("mqtt: link lost")], output[-20:]
    finally:
        device.stop()
        sender.loop_stop()
        sender.disconnect()
        watcher.close()
        stop_all(broker)
