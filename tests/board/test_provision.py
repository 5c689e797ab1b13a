"""Provisioning: the board config is checked as the board checks it, and written safely.

Real: the firmware's own config check (run by the MicroPython unix port) as the
judge the host must agree with; mpremote and the MicroPython REPL on a
pseudo-terminal, whose working folder plays the board's flash. Stood in: the
ESP32 (the unix port), the USB cable (a pty), and the person typing (input and
getpass are replaced by fixed answers).
"""

from __future__ import annotations

import json

import pytest

from hub import cli
from hub.board import provision as prov
from hub.errors import ConfigError
from tests.support.upython import run_micropython

WIFI = {
    "desk": "desk-1",
    "wifi_ssid": "office",
    "wifi_password": "s3cret-pw",
    "mqtt_host": "10.0.0.5",
}

TYPED = "pw-typed"

CASES = [
    WIFI,
    {"desk": "desk-1", "transport": "serial"},
    {"desk": "Desk 1", "transport": "serial"},
    {"desk": "desk-1", "transport": "serial", "sensor_pin": 25},
    {"desk": "desk-1", "transport": "serial", "sensor": "hx711", "sensor_pin": 4},
    {
        "desk": "desk-1",
        "transport": "serial",
        "sensor": "hx711",
        "sensor_pin": 4,
        "sensor_clk_pin": 5,
    },
    {"desk": "desk-1"},
    {"desk": "desk-1", "transport": "serial", "empty": 400},
    {"desk": "desk-1", "transport": "serial", "empty": 400, "occupied": 400},
    {"desk": "desk-1", "transport": "serial", "empty": 400.5, "occupied": 1800},
    {"desk": "desk-1", "transport": "serial", "mqtt_port": 70000},
    {"desk": "desk-1", "transport": "serial", "limit_s": "30m"},
    {"desk": "desk-1", "transport": "serial", "colour": "red"},
    {"desk": "desk-1", "transport": "serial", "prefix": "a/_hub"},
    {"desk": "desk-1", "transport": "serial", "sensor": "load"},
    {"desk": "desk-1", "transport": "serial", "motor_pin": None, "buzzer_pin": 26},
    {"transport": "serial"},
    {"desk": "desk-1", "transport": "serial", "strict": True, "max_snoozes": 0},
    {"desk": "desk-1", "transport": "serial", "strict": 1},
    {"desk": "desk-1", "transport": "serial", "strict": "yes"},
    {"desk": "desk-1", "transport": "serial", "max_snoozes": 101},
    {"desk": "desk-1", "transport": "serial", "max_snoozes": True},
]

FIRMWARE_JUDGE = """
import json, sys
from sitless import config

def judge(case):
    try:
        config.check(case)
    except config.ConfigError as exc:
        return "error " + str(exc)
    return "ok"

def main():
    for case in json.loads(sys.argv[1]):
        print(judge(case))

main()
"""


def test_host_and_board_agree_on_every_case():
    """Real: the firmware's config.check under MicroPython judges the same cases as the host."""
    verdicts = []
    for case in CASES:  # one process each: several refusals in one run crash this unix port
        result = run_micropython(FIRMWARE_JUDGE, json.dumps([case]))
        assert result.returncode == 0, result.stderr
        verdicts.append(result.stdout.strip())
    for case, verdict in zip(CASES, verdicts, strict=True):
        named = host_verdict(case)
        if named is None:
            assert verdict == "ok", (case, verdict)
        else:
            assert verdict.startswith("error"), (case, verdict)
            assert any(key in verdict for key in named), (case, verdict, named)


def host_verdict(case: dict) -> set[str] | None:
    """None when the host accepts the case, else the keys its problems name."""
    try:
        prov.validate(case)
    except ConfigError as exc:
        return {p.split(":")[0] for p in exc.problems}
    return None


KEY_TABLE = """
import json
from sitless import config

kinds = {config.INT: "int", config.NUMBER: "number", config.TEXT: "text", config.PIN: "int",
         config.BOOL: "bool"}
print(json.dumps({k: [kinds[v[0]], v[1], v[2], v[3], v[4]] for k, v in config.KEYS.items()}))
"""


def test_the_host_knows_every_key_the_board_knows():
    """Real: the firmware's own key table under MicroPython; the host's must list the same keys
    with the same kind, default, nullability and limits (so `fleet config strict=true` and
    `max_snoozes=0`, which the hub's snooze rules need on the chair, are checked, not refused)."""
    result = run_micropython(KEY_TABLE)
    assert result.returncode == 0, result.stderr
    board = json.loads(result.stdout)
    host = {k: [s.kind, s.default, s.nullable, s.lo, s.hi] for k, s in prov.KEYS.items()}
    assert host == board
    assert prov.key_problem("strict", True) is None
    assert prov.key_problem("strict", 1) == "must be true or false"
    assert prov.key_problem("max_snoozes", 0) is None
    assert prov.key_problem("max_snoozes", 101) == "must be between 0 and 100"


def test_every_problem_is_reported_at_once_by_key():
    """Pure validation; nothing stood in."""
    with pytest.raises(ConfigError) as err:
        prov.validate({"desk": "desk-1", "mqtt_port": "1883", "led_pin": 99, "colour": 1})
    assert sorted(p.split(":")[0] for p in err.value.problems) == ["colour", "led_pin", "mqtt_port"]


def test_broker_urls_and_assignments():
    """Pure parsing; nothing stood in."""
    assert prov.broker_address("mqtt://10.0.0.5:1884") == ("10.0.0.5", 1884)
    assert prov.broker_address("broker.local") == ("broker.local", 1883)
    assert prov.broker_keys("mqtts://broker.local") == {
        "mqtt_host": "broker.local",
        "mqtt_port": 8883,
        "mqtt_tls": True,
    }
    assert prov.broker_keys("mqtt://10.0.0.5")["mqtt_tls"] is False
    with pytest.raises(ConfigError, match="broker"):
        prov.broker_address("ws://broker:8883")
    assert prov.parse_assignment("buzzer_pin=26") == ("buzzer_pin", 26)
    assert prov.parse_assignment("motor_pin=null") == ("motor_pin", None)
    assert prov.parse_assignment("wifi_ssid=my net") == ("wifi_ssid", "my net")
    with pytest.raises(ConfigError, match="key=value"):
        prov.parse_assignment("buzzer_pin")


def test_redaction_hides_only_secrets():
    """Pure; nothing stood in."""
    shown = prov.redacted({**WIFI, "mqtt_password": None})
    assert shown["wifi_password"] == prov.MASK
    assert shown["mqtt_password"] is None
    assert shown["wifi_ssid"] == "office"


def test_flags_write_the_config_and_keep_the_calibration(
    pty, micropython_repl, capsys, monkeypatch
):
    """Real mpremote and MicroPython REPL; the password comes from the environment."""
    flash = micropython_repl
    (flash / "config.json").write_text(
        json.dumps({"desk": "old-desk", "transport": "serial", "empty": 410, "occupied": 1790})
    )
    monkeypatch.setenv("SITLESS_WIFI_PASSWORD", "s3cret-pw")
    code = cli.main(
        [
            "provision",
            "--port",
            pty.path,
            "--no-soft-reset",
            "--no-input",
            "--desk",
            "desk-12",
            "--transport",
            "wifi",
            "--wifi-ssid",
            "office",
            "--broker",
            "mqtt://10.0.0.5:1884",
            "--set",
            "buzzer_pin=26",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    written = json.loads((flash / "config.json").read_text())
    assert written == {
        "desk": "desk-12",
        "transport": "wifi",
        "wifi_ssid": "office",
        "wifi_password": "s3cret-pw",
        "mqtt_host": "10.0.0.5",
        "mqtt_port": 1884,
        "mqtt_tls": False,  # mqtt://, not mqtts://
        "empty": 410,
        "occupied": 1790,
        "buzzer_pin": 26,
    }
    assert "s3cret-pw" not in out + err


def test_questions_fill_what_the_flags_leave_out(pty, micropython_repl, capsys, monkeypatch):
    """Real mpremote and MicroPython REPL; the person's answers and typed password stood in."""
    answers = iter(["desk-3", "", "", "", "office", "mqtt://hub.local"])
    monkeypatch.setattr("builtins.input", lambda _prompt: next(answers))
    prompts: list[str] = []
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or TYPED)
    monkeypatch.delenv("SITLESS_WIFI_PASSWORD", raising=False)
    code = cli.main(["provision", "--port", pty.path, "--no-soft-reset"])
    out, err = capsys.readouterr()
    assert code == 0, err
    written = json.loads((micropython_repl / "config.json").read_text())
    assert written["desk"] == "desk-3"
    assert written["transport"] == "wifi"
    assert written["sensor_pin"] == 34
    assert written["mqtt_host"] == "hub.local"
    assert written["wifi_password"] == TYPED
    assert prompts == ["WiFi password: "]
    assert TYPED not in out + err


def test_bad_values_are_refused_by_key_and_nothing_is_written(pty, micropython_repl, capsys):
    """Real mpremote and MicroPython REPL: the board's file is untouched after a refusal."""
    before = '{"desk": "desk-1", "transport": "serial"}'
    (micropython_repl / "config.json").write_text(before)
    code = cli.main(
        [
            "provision",
            "--port",
            pty.path,
            "--no-soft-reset",
            "--no-input",
            "--sensor-pin",
            "12",
            "--set",
            "led_pin=x",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "led_pin: must be an integer" in err
    assert (micropython_repl / "config.json").read_text() == before


def test_a_password_nobody_can_type_is_a_clear_error(pty, micropython_repl, capsys, monkeypatch):
    """Real mpremote and MicroPython REPL; no terminal to type on (getpass hits the end)."""

    def no_terminal(_prompt: str) -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_terminal)
    monkeypatch.delenv("SITLESS_WIFI_PASSWORD", raising=False)
    code = cli.main(
        [
            "provision",
            "--port",
            pty.path,
            "--no-soft-reset",
            "--desk",
            "desk-2",
            "--transport",
            "wifi",
            "--wifi-ssid",
            "office",
            "--broker",
            "hub.local",
            "--sensor",
            "adc",
            "--sensor-pin",
            "34",
        ]
    )
    assert code == 2
    assert "wifi_password: no answer (set SITLESS_WIFI_PASSWORD" in capsys.readouterr().err
    assert not (micropython_repl / "config.json").exists()
