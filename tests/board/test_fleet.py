"""The fleet table and config pushes, against a real broker.

Real: mosquitto, paho, the fleet command. Stood in: the desks (retained
messages published by the test, and a paho client that answers config commands
the way the firmware does).
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from hub import cli
from hub.errors import ConfigError
from hub.fleet.fleet import check_settings, with_broker
from tests.support.mqttprobe import MqttProbe


@pytest.fixture
def hub_toml(tmp_path, mosquitto, prefix):
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[mqtt]\nurl = "mqtt://{mosquitto.host}:{mosquitto.port}"\nprefix = "{prefix}"\n'
    )
    return path


def seed(probe: MqttProbe, prefix: str) -> None:
    info = {"fw": "0.3.1", "board": "esp32", "sensor": "hx711", "mac": "aa", "boot": "b1"}
    probe.publish(f"{prefix}/desk-a/info", info, retain=True)
    probe.publish(f"{prefix}/desk-a/status", "online", retain=True)
    probe.publish(
        f"{prefix}/desk-a/sitting",
        {"state": "seated", "seated_s": 60, "level": 0, "since": 1.0, "ts": time.time() - 120},
        retain=True,
    )
    probe.publish(f"{prefix}/desk-b/status", "offline", retain=True)
    probe.publish(f"{prefix}/_hub/status", "online", retain=True)


def clear(probe: MqttProbe, prefix: str) -> None:
    for topic in ("desk-a/info", "desk-a/status", "desk-a/sitting", "desk-b/status", "_hub/status"):
        probe.publish(f"{prefix}/{topic}", b"", retain=True)


class Desk(threading.Thread):
    """Answers config commands like the firmware: ok, or refused naming a bad key.

    The host checks each key alone; only the board sees its whole config, so a pin
    that is valid in itself can still be refused (the adc sensor needs an ADC1 pin).
    """

    def __init__(self, probe: MqttProbe, prefix: str, desk: str) -> None:
        super().__init__(daemon=True)
        self.probe, self.base = probe, f"{prefix}/{desk}"
        self.stop = threading.Event()
        self.commands: list[dict] = []
        probe.subscribe(f"{self.base}/cmd")

    def run(self) -> None:
        answered = 0
        while not self.stop.wait(0.02):
            cmds = self.probe.received(f"{self.base}/cmd")
            for msg in cmds[answered:]:
                cmd = msg.json()
                self.commands.append({**cmd, "_retain": msg.retain, "_qos": msg.qos})
                pin = cmd["set"].get("sensor_pin", 34)
                ack = {"id": cmd["id"], "ok": 32 <= pin <= 39}
                if not ack["ok"]:
                    ack["error"] = "config: sensor_pin must be an ADC1 pin (32-39)"
                self.probe.publish(f"{self.base}/ack", ack)
            answered = len(cmds)


def test_the_table_lists_every_desk_the_broker_knows(hub_toml, probe, prefix, capsys, monkeypatch):
    """Retained info/status/sitting of two desks show up as two rows; the hub is not a desk."""
    monkeypatch.setenv("COLUMNS", "200")
    seed(probe, prefix)
    try:
        code = cli.main(["fleet", "--config", str(hub_toml), "--wait", "1"])
    finally:
        clear(probe, prefix)
    out = capsys.readouterr().out
    assert code == 0
    rows = {line.split("│")[2].strip(): line for line in out.splitlines() if "desk-" in line}
    assert set(rows) == {"desk-a", "desk-b"}
    assert "online" in rows["desk-a"]
    assert "seated" in rows["desk-a"]
    assert "0.3.1" in rows["desk-a"]
    assert "2m ago" in rows["desk-a"]
    assert "offline" in rows["desk-b"]
    assert "2 desk(s)" in out


def test_a_push_reports_each_desks_answer(hub_toml, probe, prefix, capsys):
    """desk-a accepts, desk-b refuses sensor pin 12, desk-c never answers: exit 1."""
    desks = [Desk(probe, prefix, "desk-a"), Desk(probe, prefix, "desk-b")]
    for desk in desks:
        desk.start()
    try:
        code = cli.main(
            [
                "fleet",
                "config",
                "--config",
                str(hub_toml),
                "--desk",
                "desk-a",
                "--wait",
                "3",
                "limit_s=2400",
                "motor_pin=null",
            ]
        )
        assert code == 0
        assert capsys.readouterr().out.strip() == f"{prefix}/desk-a: ok"
        code = cli.main(
            [
                "fleet",
                "config",
                "--config",
                str(hub_toml),
                "--desk",
                "desk-b",
                "--desk",
                "desk-c",
                "--wait",
                "3",
                "sensor_pin=12",
            ]
        )
        out = capsys.readouterr().out
    finally:
        for desk in desks:
            desk.stop.set()
            desk.join(5)
    assert code == 1
    assert "desk-b: refused: config: sensor_pin must be an ADC1 pin (32-39)" in out
    assert "desk-c: no answer" in out
    sent = desks[0].commands[0]
    assert sent["action"] == "config"
    assert sent["set"] == {"limit_s": 2400, "motor_pin": None}
    assert sent["_retain"] is False
    assert sent["_qos"] == 1


def test_push_to_all_reaches_every_seen_desk(hub_toml, probe, prefix, capsys):
    """--all finds desk-a and desk-b from their retained messages and sends to both."""
    seed(probe, prefix)
    desks = [Desk(probe, prefix, "desk-a"), Desk(probe, prefix, "desk-b")]
    for desk in desks:
        desk.start()
    try:
        code = cli.main(
            [
                "fleet",
                "--config",
                str(hub_toml),
                "--wait",
                "1",
                "config",
                "--all",
                "--wait",
                "5",
                "telemetry_s=30",
            ]
        )
    finally:
        for desk in desks:
            desk.stop.set()
            desk.join(5)
        clear(probe, prefix)
    out = capsys.readouterr().out
    assert code == 0, out
    assert sorted(out.split()) == sorted([f"{prefix}/desk-a:", "ok", f"{prefix}/desk-b:", "ok"])


def test_bad_settings_are_refused_before_anything_is_sent(hub_toml, probe, prefix, capsys):
    """Real broker: nothing arrives on the cmd topic after a refusal naming the key."""
    probe.subscribe(f"{prefix}/#")
    code = cli.main(
        [
            "fleet",
            "config",
            "--config",
            str(hub_toml),
            "--desk",
            "desk-a",
            "led_pin=x",
            "colour=red",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "led_pin: must be an integer" in err
    assert "colour: unknown key" in err
    probe.publish(f"{prefix}/marker", "m")
    probe.wait_topic(f"{prefix}/marker")
    assert not probe.received(f"{prefix}/desk-a/cmd")


def test_settings_rules():
    """Pure validation; nothing stood in."""
    check_settings({"limit_s": 2400})
    with pytest.raises(ConfigError, match="provision"):
        check_settings({"desk": "desk-9"})
    with pytest.raises(ConfigError, match="at least one"):
        check_settings({})
    assert json.loads(json.dumps({"a": None})) == {"a": None}


def test_the_snooze_rules_the_hub_keeps_in_step_are_pushed(hub_toml, probe, prefix, capsys):
    """Real broker and CLI: `strict=true max_snoozes=0` goes out as a bool and an int; a
    non-bool `strict` is refused before anything is sent."""
    desk = Desk(probe, prefix, "desk-a")
    desk.start()
    try:
        args = ["fleet", "config", "--config", str(hub_toml), "--desk", "desk-a", "--wait", "3"]
        code = cli.main([*args, "strict=true", "max_snoozes=0"])
        assert code == 0
        assert capsys.readouterr().out.strip() == f"{prefix}/desk-a: ok"
        code = cli.main([*args, "strict=1"])
        assert code == 2
        assert "strict: must be true or false" in capsys.readouterr().err
    finally:
        desk.stop.set()
        desk.join(5)
    assert [c["set"] for c in desk.commands] == [{"strict": True, "max_snoozes": 0}]


def test_a_chair_is_moved_to_a_tls_broker(hub_toml, probe, prefix, capsys):
    """Real broker and CLI: --broker mqtts://... --ca sets the four broker keys in one
    config command (TLS on, port 8883 unless given, the CA file's name on the board)."""
    desk = Desk(probe, prefix, "desk-a")
    desk.start()
    try:
        args = ["fleet", "config", "--config", str(hub_toml), "--desk", "desk-a", "--wait", "3"]
        code = cli.main([*args, "--broker", "mqtts://broker.example", "--ca", "site-ca.pem"])
        assert code == 0
        assert capsys.readouterr().out.strip() == f"{prefix}/desk-a: ok"
        code = cli.main([*args, "--broker", "mqtt://10.0.0.5:1884", "limit_s=2400"])
        assert code == 0
        assert capsys.readouterr().out.strip() == f"{prefix}/desk-a: ok"
    finally:
        desk.stop.set()
        desk.join(5)
    assert [c["set"] for c in desk.commands] == [
        {
            "mqtt_host": "broker.example",
            "mqtt_port": 8883,
            "mqtt_tls": True,
            "mqtt_ca": "site-ca.pem",
        },
        {"limit_s": 2400, "mqtt_host": "10.0.0.5", "mqtt_port": 1884, "mqtt_tls": False},
    ]


@pytest.mark.parametrize(
    "case",
    [
        (["--broker", "ws://broker:8883"], "broker: ws:// is not supported by the firmware"),
        (["--broker", "mqtts://broker:99999"], "broker: the port is not a number from 1 to 65535"),
        (["--broker", "mqtts://broker:0"], "broker: the port is not a number from 1 to 65535"),
        (["--broker", "mqtts://"], "broker: expected mqtt://host:port"),
        (["--broker", "mqtts://desk:secret@broker"], "the login is set apart (mqtt_user)"),
        (
            ["--broker", "mqtt://broker", "--ca", "ca.pem"],
            "--ca: the CA file is only read over TLS",
        ),
        (["--ca", "ca.pem", "mqtt_tls=false"], "--ca: the CA file is only read over TLS"),
        (["--broker", "mqtts://broker", "mqtt_port=1883"], "mqtt_port: set by --broker"),
        (["--ca", "ca.pem", "mqtt_ca=other.pem"], "mqtt_ca: set by --ca"),
        (["--ca", ""], "mqtt_ca: must be text of 1 to 64 characters"),
        ([], "give at least one key=value, --broker or --ca"),
    ],
)
def test_bad_broker_options_are_refused_before_anything_is_sent(
    hub_toml, probe, prefix, capsys, case
):
    """Real broker: each bad --broker or --ca is one clear error (exit 2), nothing is sent,
    and a password in the URL is never echoed."""
    options, problem = case
    probe.subscribe(f"{prefix}/#")
    code = cli.main(["fleet", "config", "--config", str(hub_toml), "--desk", "desk-a", *options])
    err = capsys.readouterr().err
    assert code == 2
    assert problem in err
    assert "secret" not in err
    probe.publish(f"{prefix}/marker", "m")
    probe.wait_topic(f"{prefix}/marker")
    assert not probe.received(f"{prefix}/desk-a/cmd")


def test_broker_options_rules():
    """Pure: what --broker and --ca add to the settings; nothing stood in."""
    assert with_broker({"limit_s": 60}, None) == {"limit_s": 60}
    assert with_broker({}, "mqtts://b.example:8884") == {
        "mqtt_host": "b.example",
        "mqtt_port": 8884,
        "mqtt_tls": True,
    }
    # A chair already on TLS can be given another CA file name alone.
    assert with_broker({}, None, "new-ca.der") == {"mqtt_ca": "new-ca.der"}
    with pytest.raises(ConfigError) as err:
        with_broker({"mqtt_host": "x", "mqtt_tls": True}, "mqtt://b", "ca.pem")
    assert err.value.problems == [
        "mqtt_host: set by --broker; leave out mqtt_host=",
        "mqtt_tls: set by --broker; leave out mqtt_tls=",
        "--ca: the CA file is only read over TLS; use an mqtts:// broker",
    ]
