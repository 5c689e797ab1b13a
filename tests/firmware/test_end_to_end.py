"""The firmware under the real MicroPython unix port against a real mosquitto.

Real: the MicroPython interpreter running the firmware's own App, its MQTT
client and asyncio loop; mosquitto (a private one the test stops and starts);
paho-mqtt on the test side; the hub's own parser checking every payload.
Stood in: the ESP32 hardware (ADC, PWM buzzer, LED pin, WDT, WiFi), through
the fakes in tests/firmware/fakes.
"""

from __future__ import annotations

import json

import pytest

from hub.contract import protocol
from tests.firmware.device import Device, SessionWatcher
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

SEATED_UV = 1_600_000
EMPTY_UV = 100_000


def board_config(broker, prefix, **extra):
    cfg = {"desk": "d1", "wifi_ssid": "test", "mqtt_host": broker.host,
           "mqtt_port": broker.port, "prefix": prefix, "seated_ms": 200, "vacant_ms": 300,
           "sample_ms": 20, "telemetry_s": 1}
    cfg.update(extra)
    return cfg


def parsed(prefix, kind, body):
    return protocol.parse(f"{prefix}/d1/{kind}", body, [prefix])[1]


def check_reboot(device, watcher, base):
    """Reboot: ack first, a clean offline, then the reset."""
    watcher.publish(f"{base}/cmd", {"id": "h-9", "action": "reboot"})
    device.wait_line(lambda line: line == "FAKE reset")
    assert device.proc.wait(timeout=20) == 0
    assert {"id": "h-9", "ok": True} in watcher.json(f"{base}/ack")
    wait_until(lambda: watcher.payloads(f"{base}/status")[-1] == b"offline", 10,
               "status offline")


def test_publishes_obeys_commands_and_replays_the_outbox_in_order(tmp_path, private_mosquitto,
                                                                  prefix):
    broker = private_mosquitto
    watcher = SessionWatcher(broker.host, broker.port, f"{prefix}/d1/#")
    watcher.publish(f"{prefix}/_hub/status", "online", retain=True)
    # A stale retained command waits on the broker: the board must not act on it at connect.
    watcher.publish(f"{prefix}/d1/cmd", {"id": "r-1", "action": "alert", "level": 3},
                    retain=True)
    device = Device(tmp_path, board_config(broker, prefix))
    base = f"{prefix}/d1"
    try:
        # Connect: status online, info, then the first settled state (vacant).
        wait_until(lambda: b"online" in watcher.payloads(f"{base}/status"), 20, "status online")
        info = wait_until(lambda: watcher.payloads(f"{base}/info"), 10, "info")[0]
        assert parsed(prefix, "info", info).sensor == "adc"
        wait_until(lambda: watcher.payloads(f"{base}/occupancy"), 10, "first occupancy")
        device.set_adc(SEATED_UV)
        wait_until(lambda: any(m["seated"] for m in watcher.json(f"{base}/occupancy")), 10,
                   "seated")
        telemetry = wait_until(lambda: watcher.payloads(f"{base}/telemetry"), 10, "telemetry")
        tele = parsed(prefix, "telemetry", telemetry[0])
        assert tele.rssi == -52
        assert tele.ts is not None  # the clock was synced once the broker answered

        # A command drives the buzzer and is acked; the retained one was ignored.
        watcher.publish(f"{base}/cmd", {"id": "h-1", "action": "alert", "level": 2})
        watcher.publish(f"{base}/cmd", {"id": "h-2", "action": "selfdestruct"})
        acks = wait_until(lambda: len(watcher.json(f"{base}/ack")) >= 2 and
                          watcher.json(f"{base}/ack"), 10, "acks")
        assert [(a["id"], a["ok"]) for a in acks] == [("h-1", True), ("h-2", False)]
        assert acks[1]["error"] == "unknown action"
        for body in watcher.payloads(f"{base}/ack"):
            parsed(prefix, "ack", body)
        device.wait_line(lambda line: line.startswith("FAKE pwm 25 2000 6000"))
        assert all(e[1] != "3000" for e in device.fake_events("pwm"))  # level 3 never played
        device.wait_line(lambda line: line.startswith("cmd: ignored: retained"))

        # The broker goes away; transitions happen; the broker comes back.
        broker.stop()
        device.wait_line(lambda line: line.startswith("mqtt: link lost"))
        for level in (EMPTY_UV, SEATED_UV, EMPTY_UV, SEATED_UV):
            before = len(device.sl("occupancy"))
            device.set_adc(level)
            wait_until(lambda n=before: len(device.sl("occupancy")) > n, 10, "a transition")
        offline = device.sl("occupancy")[-4:]
        assert [m["seated"] for m in offline] == [False, True, False, True]
        broker.start()
        wait_until(lambda: all(m in watcher.json(f"{base}/occupancy") for m in offline), 40,
                   "the buffered transitions")

        received = watcher.json(f"{base}/occupancy")
        keys = [(m["boot"], m["seq"]) for m in received]
        assert len(keys) == len(set(keys)), keys
        seqs = [m["seq"] for m in received]
        assert seqs == sorted(seqs)
        # Kept with their original time: exactly what the board printed when they happened.
        assert received[-4:] == offline
        for body in watcher.payloads(f"{base}/occupancy"):
            parsed(prefix, "occupancy", body)
        wait_until(lambda: watcher.payloads(f"{base}/status").count(b"online") >= 2, 20,
                   "status online again")
        check_reboot(device, watcher, base)
    finally:
        device.stop()
        watcher.close()


def test_local_fallback_buzzes_at_the_limit_without_a_hub(tmp_path, private_mosquitto, prefix):
    """No hub has ever announced itself: the board times the bout and buzzes on its own.

    Real: MicroPython running the App, mosquitto. Stood in: the hardware.
    """
    broker = private_mosquitto
    watcher = SessionWatcher(broker.host, broker.port, f"{prefix}/d1/#")
    device = Device(tmp_path, board_config(broker, prefix, limit_s=1, min_break_s=1),
                    adc_uv=SEATED_UV)
    try:
        wait_until(lambda: any(m["seated"] for m in watcher.json(f"{prefix}/d1/occupancy")),
                   20, "seated")
        # Level 1 at the limit, as the hub: the LED, no buzz before the first escalation.
        device.wait_line(lambda line: line == "FAKE pin 2 1")
        assert all(e[1] not in {"2000", "3000"} for e in device.fake_events("pwm"))
        # The hub appears: it takes over and the board's own alert stops.
        watcher.publish(f"{prefix}/_hub/status", "online", retain=True)
        device.wait_line(lambda line: line == "FAKE pin 2 0")
    finally:
        device.stop()
        watcher.close()


def test_local_fallback_buzzes_when_the_broker_is_unreachable(tmp_path, private_mosquitto):
    """The broker is down from the start: the chair still works on its own.

    Real: MicroPython running the App (its MQTT client failing to connect to a
    closed port). Stood in: the hardware.
    """
    broker = private_mosquitto
    broker.stop()
    device = Device(tmp_path, board_config(broker, "sitless", limit_s=1, min_break_s=1),
                    adc_uv=SEATED_UV)
    try:
        device.wait_line(lambda line: line.startswith("mqtt: connect failed"))
        device.wait_line(lambda line: line == "FAKE pin 2 1")  # level 1 at the limit
        assert any(p["seated"] for p in device.sl("occupancy"))
        # Standing up (a break) silences it.
        device.set_adc(EMPTY_UV)
        device.wait_line(lambda line: line == "FAKE pin 2 0")
    finally:
        device.stop()


def test_serial_transport_speaks_sl_lines_both_ways(tmp_path):
    """With the serial transport the board talks only on its console, in `SL` lines.

    Real: MicroPython running the App and its serial link on the process's
    stdin/stdout (the USB console). Stood in: the hardware; the test plays the
    host's serial bridge.
    """
    cfg = {"desk": "d1", "transport": "serial", "seated_ms": 200, "vacant_ms": 300,
           "sample_ms": 20, "telemetry_s": 1, "limit_s": 1, "min_break_s": 1}
    device = Device(tmp_path, cfg, adc_uv=EMPTY_UV)
    try:
        wait_until(lambda: "online" in device.sl("status"), 20, "status online")
        info = wait_until(lambda: device.sl("info"), 10, "info")[0]
        protocol.parse_payload("d1", "info", json.dumps(info).encode())
        assert info["desk"] == "d1"
        wait_until(lambda: device.sl("occupancy"), 10, "first occupancy")
        device.send_line("hub", "online")
        # A bridge that opened the port late learns the desk: every hub line gets an info.
        wait_until(lambda: len(device.sl("info")) >= 2, 10, "info in answer to the hub line")
        device.send_line("stream", True)
        raw = wait_until(lambda: device.sl("raw"), 10, "raw lines")[0]
        assert raw["raw"] == EMPTY_UV
        device.send_line("stream", False)
        device.send_line("cmd", {"id": "s-1", "action": "identify"})
        ack = wait_until(lambda: device.sl("ack"), 10, "ack")[0]
        assert ack == {"id": "s-1", "ok": True}
        device.wait_line(lambda line: line.startswith("FAKE pwm 25 2500"))
        telemetry = wait_until(lambda: device.sl("telemetry"), 10, "telemetry")[0]
        protocol.parse_payload("d1", "telemetry", json.dumps(telemetry).encode())
        # The hub announced itself over the link: sitting past the limit stays quiet...
        device.set_adc(SEATED_UV)
        wait_until(lambda: any(m["seated"] for m in device.sl("occupancy")), 10, "seated")
        before = len(device.fake_events("pwm"))
        beats = len(device.sl("telemetry"))
        # Two more heartbeats (a second apart): well past the 1 s limit.
        wait_until(lambda: len(device.sl("telemetry")) >= beats + 2, 10, "two heartbeats")
        assert all(e[1] != "2000" for e in device.fake_events("pwm")[before:])
        # ...until the hub goes away: then the board alerts on its own (level 1, the LED).
        lit = device.fake_events("pin").count(["2", "1"])
        device.send_line("hub", "offline")
        wait_until(lambda: device.fake_events("pin").count(["2", "1"]) > lit, 10, "the LED")
    finally:
        device.stop()


def test_a_long_time_without_the_broker_reboots_the_board(tmp_path, private_mosquitto):
    """No broker for longer than the limit (shortened here): the health task resets the board.

    Real: MicroPython running the App, failing to reach a stopped mosquitto.
    Stood in: the hardware, including machine.reset (it prints and exits).
    """
    broker = private_mosquitto
    broker.stop()
    device = Device(tmp_path, board_config(broker, "sitless"),
                    env={"SITLESS_OFFLINE_REBOOT_MS": "1500"})
    try:
        device.wait_line(lambda line: line == "health: no broker for too long; rebooting")
        device.wait_line(lambda line: line == "FAKE reset")
        assert device.proc.wait(timeout=20) == 0
    finally:
        device.stop()


def test_a_retained_command_over_the_packet_cap_is_read_past_not_a_reconnect_loop(
    tmp_path, private_mosquitto, prefix
):
    """A 9 KB retained command waits on the broker: the board reads it past and stays connected.

    Real: MicroPython running the App and its client, mosquitto delivering the
    retained message at every subscribe. Stood in: the hardware.
    """
    broker = private_mosquitto
    watcher = SessionWatcher(broker.host, broker.port, f"{prefix}/d1/#")
    base = f"{prefix}/d1"
    watcher.publish(f"{base}/cmd", b"x" * 9000, retain=True)
    device = Device(tmp_path, board_config(broker, prefix))
    try:
        device.wait_line(lambda line: line.startswith("mqtt: a packet of 90"))
        # The link stays up: a command after it is carried out and acked.
        watcher.publish(f"{base}/cmd", {"id": "h-5", "action": "identify"})
        wait_until(lambda: {"id": "h-5", "ok": True} in watcher.json(f"{base}/ack"), 20, "ack")
        connects = [line for line in device.output() if line.startswith("mqtt: connected")]
        assert len(connects) == 1, device.output()[-20:]
        assert not [line for line in device.output() if line.startswith("mqtt: link lost")]
    finally:
        device.stop()
        watcher.close()
        watcher_clear = SessionWatcher(broker.host, broker.port, f"{prefix}/none")
        watcher_clear.publish(f"{base}/cmd", b"", retain=True)
        watcher_clear.close()


def test_the_backoff_grows_when_connections_die_right_after_connack(tmp_path):
    """A broker that accepts, answers CONNACK and hangs up: the reconnects slow down.

    Real: MicroPython running the App and its client over real TCP. Stood in:
    the broker, by a server in the test that speaks just enough MQTT (CONNACK,
    then it closes the socket), the fault this test is about; the hardware.
    """
    import socket
    import threading
    import time

    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    accepted: list[float] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(time.monotonic())
            conn.settimeout(2)
            try:
                conn.recv(1024)  # the CONNECT
                conn.sendall(b"\x20\x02\x00\x00")  # CONNACK, accepted
                time.sleep(0.2)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    cfg = {"desk": "d1", "wifi_ssid": "test", "mqtt_host": "127.0.0.1", "mqtt_port": port,
           "sample_ms": 50}
    device = Device(tmp_path, cfg)
    try:
        wait_until(lambda: len(accepted) >= 5, 60, "five connections")
        gaps = [b - a for a, b in zip(accepted, accepted[1:], strict=False)]
        # 1 s, 2 s, 4 s, 8 s apart (plus the connection's own time), not 1 s each time.
        assert gaps[3] > 2 * gaps[0] + 2, gaps
        assert gaps[3] >= 7.5, gaps
    finally:
        device.stop()
        server.close()
