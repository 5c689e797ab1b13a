"""The serial bridge end to end.

Real: mosquitto, paho, pyserial on a pseudo-terminal, the ``sitless serial-bridge``
command in its own process, and the MicroPython unix port running the board's
side of the SL protocol. Stood in: the ESP32 itself (a script speaks for it) and
the USB cable (a pty).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from hub import cli
from hub.board.bridge import SerialBridge
from hub.board.link import SerialLink
from hub.config import MqttConfig
from tests.board.conftest import BOARDS
from tests.support.mqttprobe import MqttProbe
from tests.support.upython import micropython_binary, micropython_path

ROOT = Path(__file__).resolve().parents[2]


def start_bridge(
    tmp_path: Path, mosquitto, prefix: str, port: str, *extra: str
) -> subprocess.Popen[str]:
    cfg = tmp_path / "hub.toml"
    cfg.write_text(
        f'[mqtt]\nurl = "mqtt://{mosquitto.host}:{mosquitto.port}"\n'
        f'prefix = "{prefix}"\nkeepalive = "5s"\n'
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hub",
            "serial-bridge",
            "--port",
            port,
            "--config",
            str(cfg),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(proc: subprocess.Popen[str], sig: int) -> tuple[int, str]:
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=20)
    return proc.returncode, err


@pytest.mark.usefixtures("micropython_board")
def test_events_reach_the_broker_and_commands_come_back(tmp_path, mosquitto, probe, prefix, pty):
    """Board lines become the same MQTT messages a WiFi board sends; an alert comes back.

    Also: a retained command waiting on the broker is not passed on, a broken line
    and an invalid payload are dropped without stopping the bridge, and the hub's
    status reaches the board.
    """
    desk = "desk-7"
    base = f"{prefix}/{desk}"
    probe.publish(f"{base}/cmd", {"id": "r-1", "action": "alert", "level": 2}, retain=True)
    probe.subscribe(f"{prefix}/#")
    bridge = start_bridge(tmp_path, mosquitto, prefix, pty.path)
    try:
        probe.wait_topic(f"{base}/status", 20, where=lambda p: p == "online")
        info = probe.wait_topic(f"{base}/info", 20).json()
        assert info["desk"] == desk
        assert info["sensor"] == "adc"
        occupancy = probe.wait_topic(f"{base}/occupancy", 20).json()
        assert occupancy["seq"] == 1  # the one without seq was dropped
        assert occupancy["value"] == 1830.5
        probe.wait_topic(f"{base}/telemetry", 20)

        probe.publish(
            f"{base}/cmd", {"id": "h-2", "action": "alert", "level": 2, "move": "12-15 squats"}
        )
        ack = probe.wait_topic(f"{base}/ack", 20, where=lambda p: p["id"] == "h-2").json()
        assert ack == {"id": "h-2", "ok": True}
        assert [m.json()["id"] for m in probe.received(f"{base}/ack")] == ["h-2"]

        # the bridge told the board "offline" while learning its desk; now the hub is up
        probe.publish(f"{prefix}/_hub/status", "online", retain=True)
        probe.wait_topic(f"{base}/info", 20, where=lambda p: p.get("hub") == "online")

        later = MqttProbe(mosquitto.host, mosquitto.port)
        try:
            later.subscribe(f"{base}/#")
            for kind in ("status", "occupancy", "info"):
                assert later.wait_topic(f"{base}/{kind}", 10).retain, kind
            assert not later.received(f"{base}/telemetry")
            assert not later.received(f"{base}/ack")
        finally:
            later.close()
        assert [m.qos for m in probe.received(f"{base}/telemetry")] == [0]
        assert probe.received(f"{base}/occupancy")[0].qos == 1
    finally:
        code, err = stop(bridge, signal.SIGINT)
    assert code == 130, err
    last = probe.wait_topic(f"{base}/status", 20, where=lambda p: p == "offline")
    assert last.qos == 1
    probe.publish(f"{base}/cmd", b"", retain=True)
    probe.publish(f"{prefix}/_hub/status", b"", retain=True)


@pytest.mark.usefixtures("micropython_board")
def test_a_killed_bridge_leaves_offline_as_its_will(tmp_path, mosquitto, probe, prefix, pty):
    """SIGKILL gives the bridge no chance to say goodbye; the broker publishes its will.

    Real: mosquitto, the bridge process, MicroPython. Stood in: the board (script), the cable (pty).
    """
    desk = "desk-9"
    probe.subscribe(f"{prefix}/#")
    bridge = start_bridge(tmp_path, mosquitto, prefix, pty.path, "--desk", desk)
    try:
        probe.wait_topic(f"{prefix}/{desk}/status", 20, where=lambda p: p == "online")
        # --desk wins over the desk-7 the board names in its info
        probe.wait_topic(f"{prefix}/{desk}/info", 20)
    finally:
        bridge.kill()
        bridge.communicate(timeout=20)
    probe.wait_topic(f"{prefix}/{desk}/status", 30, where=lambda p: p == "offline")


def test_the_firmwares_own_serial_link_speaks_with_the_bridge(
    tmp_path, mosquitto, probe, prefix, pty
):
    """The firmware's sitless.serial_link (real, under MicroPython) on the far end of the pty.

    Real: the firmware's line encoder and parser, the bridge command, mosquitto.
    Stood in: the rest of the board (a short script answers hub lines and commands).
    """
    board = subprocess.Popen(
        [micropython_binary(), str(BOARDS / "fw_link_board.py")],
        stdin=pty.board,
        stdout=pty.board,
        stderr=subprocess.PIPE,
        env={**os.environ, "MICROPYPATH": micropython_path()},
    )
    probe.subscribe(f"{prefix}/#")
    bridge = start_bridge(tmp_path, mosquitto, prefix, pty.path)
    try:
        probe.wait_topic(f"{prefix}/desk-5/status", 20, where=lambda p: p == "online")
        assert probe.wait_topic(f"{prefix}/desk-5/info", 20).json()["sensor"] == "switch"
        probe.publish(f"{prefix}/desk-5/cmd", {"id": "h-9", "action": "identify"})
        ack = probe.wait_topic(f"{prefix}/desk-5/ack", 20).json()
        assert ack == {"id": "h-9", "ok": True}
    finally:
        stop(bridge, signal.SIGINT)
        board.kill()
        board.wait(10)


def test_a_pulled_cable_publishes_offline_and_exits_3(tmp_path, mosquitto, probe, prefix, pty):
    """Real: mosquitto, the bridge process, pyserial on a pty. Stood in: the cable (the pty
    closes), the board (silent; --desk names it)."""
    probe.subscribe(f"{prefix}/#")
    bridge = start_bridge(tmp_path, mosquitto, prefix, pty.path, "--desk", "desk-4")
    probe.wait_topic(f"{prefix}/desk-4/status", 20, where=lambda p: p == "online")
    pty.unplug()
    _out, err = bridge.communicate(timeout=30)
    assert bridge.returncode == 3
    assert "lost the serial port" in err
    assert "Traceback" not in err
    probe.wait_topic(f"{prefix}/desk-4/status", 20, where=lambda p: p == "offline")


def test_events_during_a_broker_restart_are_not_lost(tmp_path, private_mosquitto, pty):
    """Real: a mosquitto of the test's own that is stopped and started, the bridge process.

    Stood in: the board (the test writes its SL lines on the pty). The occupancy
    written while the broker is down arrives once it is back, and the desk is
    online again without the bridge being restarted.
    """
    broker = private_mosquitto
    bridge = start_bridge(tmp_path, broker, "sitless", pty.path, "--desk", "desk-8")
    watcher = MqttProbe(broker.host, broker.port)
    try:
        watcher.subscribe("sitless/desk-8/#")
        watcher.wait_topic("sitless/desk-8/status", 20, where=lambda p: p == "online")
        watcher.close()
        broker.stop()
        pty.write(
            b'SL {"k":"occupancy","p":{"seated":true,"seq":5,"boot":"b2","ts":null,'
            b'"uptime_ms":99,"value":1500}}\r\n'
        )
        broker.start()
        watcher = MqttProbe(broker.host, broker.port)
        watcher.subscribe("sitless/desk-8/#")
        seated = watcher.wait_topic("sitless/desk-8/occupancy", 60, where=lambda p: p["seq"] == 5)
        assert seated.json()["value"] == 1500
        watcher.wait_topic("sitless/desk-8/status", 60, where=lambda p: p == "online")
    finally:
        watcher.close()
        stop(bridge, signal.SIGINT)


def test_a_missing_port_is_one_clear_error_with_exit_3(tmp_path, capsys):
    """Real: the command's argument handling and pyserial. Nothing stood in: the port is absent."""
    missing = str(tmp_path / "ttyUSB9")
    code = cli.main(["serial-bridge", "--port", missing])
    err = capsys.readouterr().err
    assert code == 3
    assert missing in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_desk_flag_is_refused_before_the_port_is_opened(capsys, pty):
    """Real: the command and the desk id rule; the pty is never written to."""
    code = cli.main(["serial-bridge", "--port", pty.path, "--desk", "Desk 7"])
    assert code in (2, 3)
    assert "desk id 'Desk 7'" in capsys.readouterr().err
    os.set_blocking(pty.board, False)
    with pytest.raises(BlockingIOError):
        os.read(pty.board, 100)


def test_board_lines_wait_for_the_desk_id():
    """Lines read before the desk is known are kept in order for publishing once connected.

    Real: the line reader on pyserial's loop:// port. Stood in: the board (lines written in).
    """
    link = SerialLink.open("loop://")
    link.port.write(
        b'boot text\r\nSL {"k":"status","p":"online"}\r\n'
        b'SL {"k":"info","p":{"fw":"1","board":"b","sensor":"adc","mac":"m",'
        b'"boot":"x","desk":"desk-3"}}\r\n'
    )
    bridge = SerialBridge(link, MqttConfig(), "sitless", desk_wait_s=10)
    assert bridge._learn_desk(threading.Event()) == "desk-3"
    assert [m.kind for m in bridge._pending] == ["status", "info"]
