"""The board's ``config.json``: built from flags or answers, checked as the board will check it.

Keys, types and limits follow the table in docs/serial.md and the firmware's
own check, so a config the host accepts is one the board accepts; every problem
is reported at once, each naming its key. Provisioning keeps what the board
already has (its calibration above all) and changes only what was given.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from hub.contract.protocol import DESK_ID
from hub.errors import ConfigError

_PREFIX_LEVEL: Final = re.compile(r"^[A-Za-z0-9_-]+$")
ADC1_PINS: Final = frozenset(range(32, 40))
SECRET_KEYS: Final = frozenset({"wifi_password", "mqtt_password"})
MASK: Final = "********"
CHOICES: Final = {"transport": ("wifi", "serial"), "sensor": ("adc", "hx711", "switch")}


@dataclass(frozen=True, slots=True)
class Key:
    """One config key: its kind (text, int, number, bool), default, nullability, limits."""

    kind: str
    default: Any
    nullable: bool
    lo: float
    hi: float


def _pin(default: int | None, *, nullable: bool = True) -> Key:
    return Key("int", default, nullable, 0, 48)


KEYS: Final = {
    "desk": Key("text", None, False, 1, 48),
    "transport": Key("text", "wifi", False, 1, 8),
    "wifi_ssid": Key("text", None, True, 1, 32),
    "wifi_password": Key("text", None, True, 0, 64),
    "mqtt_host": Key("text", None, True, 1, 253),
    "mqtt_port": Key("int", 1883, False, 1, 65535),
    "mqtt_user": Key("text", None, True, 1, 64),
    "mqtt_password": Key("text", None, True, 0, 128),
    # TLS: the broker's certificate is checked against the CA file on the board (PEM or DER).
    "mqtt_tls": Key("bool", False, False, 0, 1),
    "mqtt_ca": Key("text", "ca.pem", False, 1, 64),
    "prefix": Key("text", "sitless", False, 1, 128),
    "sensor": Key("text", "adc", False, 1, 8),
    "sensor_pin": _pin(34, nullable=False),
    "sensor_clk_pin": _pin(None),
    "empty": Key("number", None, True, -(1 << 30), 1 << 30),
    "occupied": Key("number", None, True, -(1 << 30), 1 << 30),
    "seated_ms": Key("int", 2000, False, 0, 600_000),
    "vacant_ms": Key("int", 5000, False, 0, 600_000),
    "buzzer_pin": _pin(25),
    "led_pin": _pin(2),
    "button_pin": _pin(0),
    "motor_pin": _pin(None),
    "safe_pin": _pin(15),
    "limit_s": Key("int", 1800, False, 1, 86_400),
    "min_break_s": Key("int", 120, False, 1, 86_400),
    "telemetry_s": Key("int", 60, False, 1, 86_400),
    "sample_ms": Key("int", 50, False, 10, 10_000),
    # The chair's copy of the snooze rules ([sitting] strict and max_snoozes on the hub).
    "strict": Key("bool", False, False, 0, 1),
    "max_snoozes": Key("int", 3, False, 0, 100),
}


def _text_problem(key: str, spec: Key, value: Any) -> str | None:
    if not isinstance(value, str) or not spec.lo <= len(value) <= spec.hi:
        return f"must be text of {spec.lo:g} to {spec.hi:g} characters"
    if key in CHOICES and value not in CHOICES[key]:
        return f"must be one of {', '.join(CHOICES[key])}"
    return None


def _number_problem(spec: Key, value: Any) -> str | None:
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if spec.kind == "int" and not is_int:
        return "must be an integer"
    is_real = isinstance(value, float) and math.isfinite(value)
    if spec.kind == "number" and not (is_int or is_real):
        return "must be a number"
    if not spec.lo <= value <= spec.hi:
        return f"must be between {spec.lo:g} and {spec.hi:g}"
    return None


def key_problem(key: str, value: Any) -> str | None:
    """What is wrong with one key's value on its own, or None."""
    spec = KEYS.get(key)
    if spec is None:
        return "unknown key"
    if value is None:
        return None if spec.nullable else "must be set"
    if spec.kind == "text":
        return _text_problem(key, spec, value)
    if spec.kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    return _number_problem(spec, value)


def _whole_problems(cfg: dict[str, Any]) -> list[str]:
    problems = []
    if isinstance(cfg["desk"], str) and not DESK_ID.match(cfg["desk"]):
        problems.append(f"desk: must match {DESK_ID.pattern}")
    prefix = cfg["prefix"]
    if isinstance(prefix, str) and not all(
        _PREFIX_LEVEL.match(level) and level != "_hub" for level in prefix.split("/")
    ):
        problems.append("prefix: must be levels of letters, digits, - or _, not _hub")
    if cfg["sensor"] == "adc" and cfg["sensor_pin"] not in ADC1_PINS:
        problems.append("sensor_pin: must be an ADC1 pin (32-39) for the adc sensor")
    if cfg["sensor"] == "hx711" and cfg["sensor_clk_pin"] is None:
        problems.append("sensor_clk_pin: must be set for the hx711 sensor")
    if (cfg["empty"] is None) != (cfg["occupied"] is None):
        problems.append("empty: empty and occupied must be set together")
    elif cfg["empty"] is not None and cfg["empty"] == cfg["occupied"]:
        problems.append("occupied: must differ from empty")
    if cfg["transport"] == "wifi":
        problems.extend(
            f"{key}: must be set for the wifi transport"
            for key in ("wifi_ssid", "mqtt_host")
            if cfg[key] is None
        )
    return problems


def validate(values: dict[str, Any]) -> dict[str, Any]:
    """The full config (defaults filled in), or ConfigError with one line per bad key."""
    problems = [
        f"{key}: {problem}" for key, value in values.items() if (problem := key_problem(key, value))
    ]
    if problems:
        raise ConfigError(problems)
    cfg = {key: spec.default for key, spec in KEYS.items()} | values
    missing = [
        f"{key}: must be set"
        for key, spec in KEYS.items()
        if cfg[key] is None and not spec.nullable
    ]
    if missing:
        raise ConfigError(missing)
    whole = _whole_problems(cfg)
    if whole:
        raise ConfigError(whole)
    return cfg


def broker_address(url: str) -> tuple[str, int]:
    """``mqtt://host:port`` (or ``mqtts://``) to the board's ``mqtt_host`` and ``mqtt_port``."""
    keys = broker_keys(url)
    return keys["mqtt_host"], keys["mqtt_port"]


def broker_keys(url: str) -> dict[str, Any]:
    """``mqtt://host:port`` or ``mqtts://host:port`` to the board's broker keys.

    ``mqtts`` turns ``mqtt_tls`` on (port 8883 unless given); the CA the board
    trusts is the file ``mqtt_ca`` names on the board.
    """
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    if parts.scheme not in {"mqtt", "mqtts"}:
        problem = (
            f"broker: {parts.scheme}:// is not supported by the firmware; use mqtt:// or mqtts://"
        )
        raise ConfigError([problem])
    tls = parts.scheme == "mqtts"
    try:
        port = parts.port
    except ValueError:  # not a number, or over 65535
        port = 0
    if port is None:
        port = 8883 if tls else 1883
    elif not 1 <= port <= 65535:
        raise ConfigError(["broker: the port is not a number from 1 to 65535"])
    if not parts.hostname:
        raise ConfigError(["broker: expected mqtt://host:port"])
    if parts.username is not None or parts.path not in {"", "/"} or parts.query:
        problem = "broker: give only mqtt://host:port; the login is set apart (mqtt_user)"
        raise ConfigError([problem])
    return {"mqtt_host": parts.hostname, "mqtt_port": port, "mqtt_tls": tls}


def parse_assignment(text: str) -> tuple[str, Any]:
    """``key=value`` with the value read as JSON when it is JSON (numbers, null), else text."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError([f"{text!r}: expected key=value"])
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def merged(existing: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """What the board will hold: what it had (unknown keys dropped) with the changes on top."""
    kept = {k: v for k, v in existing.items() if k in KEYS}
    return kept | changes


def redacted(cfg: dict[str, Any]) -> dict[str, Any]:
    """The config fit for a screen or a log: secrets replaced."""
    return {k: (MASK if k in SECRET_KEYS and v else v) for k, v in cfg.items()}


def to_json(values: dict[str, Any]) -> str:
    """The file's text, keys in the documented order."""
    ordered = {k: values[k] for k in KEYS if k in values}
    return json.dumps(ordered, indent=1) + "\n"
