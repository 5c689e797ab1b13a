"""``sitless provision``: write the board's config.json (WiFi, broker, desk, sensor) safely."""

from __future__ import annotations

import argparse
import getpass
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from hub.board import provision as prov
from hub.board.deploy import Mpremote
from hub.errors import ConfigError

logger = logging.getLogger(__name__)

PASSWORD_ENV = {"wifi_password": "SITLESS_WIFI_PASSWORD", "mqtt_password": "SITLESS_MQTT_PASSWORD"}


def register(sub: Any) -> None:
    """Add the sub-command."""
    p: argparse.ArgumentParser = sub.add_parser(
        "provision",
        help="write the board's configuration (WiFi, broker, desk, sensor)",
        description="Build the board's config.json from flags, asking for anything missing "
        "(passwords are asked without echo, or read from SITLESS_WIFI_PASSWORD and "
        "SITLESS_MQTT_PASSWORD with --no-input). Everything is checked before "
        "it is written; keys the board already has, such as its calibration, are kept.",
    )
    p.add_argument("--port", "-p", required=True, help="serial port, e.g. /dev/ttyUSB0")
    p.add_argument("--desk", help="desk id, e.g. desk-12")
    p.add_argument("--transport", choices=prov.CHOICES["transport"])
    p.add_argument("--wifi-ssid", dest="wifi_ssid", help="WiFi network name")
    p.add_argument("--broker", help="MQTT broker, e.g. mqtt://192.168.1.5:1883 (mqtts:// for TLS)")
    p.add_argument("--mqtt-user", dest="mqtt_user", help="broker user name (password is asked)")
    p.add_argument("--prefix", help="topic prefix (default sitless)")
    p.add_argument("--sensor", choices=prov.CHOICES["sensor"])
    p.add_argument("--sensor-pin", dest="sensor_pin", type=int)
    p.add_argument("--sensor-clk-pin", dest="sensor_clk_pin", type=int, help="HX711 clock pin")
    p.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other key of the board config (repeatable), e.g. buzzer_pin=26",
    )
    p.add_argument("--no-input", action="store_true", help="never ask; fail on what is missing")
    p.add_argument("--dry-run", action="store_true", help="check and show, but do not write")
    p.add_argument(
        "--no-soft-reset",
        dest="soft_reset",
        action="store_false",
        help="do not soft-reset the board before talking to it",
    )
    p.set_defaults(func=run)


def _ask(label: str, current: Any, cast: type = str) -> Any:
    shown = "" if current is None else f" [{current}]"
    try:
        answer = input(f"{label}{shown}: ").strip()
    except EOFError as exc:
        raise ConfigError([f"{label}: no answer (pass it as a flag, or use --no-input)"]) from exc
    if not answer:
        return current
    if cast is int:
        try:
            return int(answer)
        except ValueError as exc:
            raise ConfigError([f"{label}: {answer!r} is not a whole number"]) from exc
    return answer


def _secret(key: str, label: str, has_one: bool, *, interactive: bool) -> str | None:
    """A password from the environment or typed without echo; None keeps what the board has."""
    from_env = os.environ.get(PASSWORD_ENV[key])
    if from_env is not None or not interactive:
        return from_env
    hint = " (Enter keeps the current one)" if has_one else ""
    try:
        typed = getpass.getpass(f"{label}{hint}: ")
    except EOFError as exc:
        env = PASSWORD_ENV[key]
        raise ConfigError([f"{key}: no answer (set {env} and use --no-input)"]) from exc
    return typed or None


def from_flags(args: argparse.Namespace) -> dict[str, Any]:
    """What the command line already says."""
    changes: dict[str, Any] = {}
    for key in (
        "desk",
        "transport",
        "wifi_ssid",
        "mqtt_user",
        "prefix",
        "sensor",
        "sensor_pin",
        "sensor_clk_pin",
    ):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    if args.broker:
        changes.update(prov.broker_keys(args.broker))
    for text in args.assignments:
        key, value = prov.parse_assignment(text)
        changes[key] = value
    return changes


class Interview:
    """Asks only for what neither the flags nor the board's current config settle."""

    def __init__(self, existing: dict[str, Any], changes: dict[str, Any]) -> None:
        self.existing = existing
        self.changes = changes

    def current(self, key: str) -> Any:
        """The value as it stands: changed, else on the board, else the default."""
        if key in self.changes:
            return self.changes[key]
        return self.existing.get(key, prov.KEYS[key].default)

    def ask(self, key: str, label: str, cast: type = str) -> None:
        """Ask for one key unless a flag already set it."""
        if key not in self.changes:
            self.changes[key] = _ask(label, self.current(key), cast)

    def basics(self) -> None:
        """Desk, transport and sensor: every board needs them."""
        self.ask("desk", "Desk id")
        self.ask("transport", "Transport (wifi/serial)")
        self.ask("sensor", "Sensor (adc/hx711/switch)")
        self.ask("sensor_pin", "Sensor pin", int)
        if self.current("sensor") == "hx711":
            self.ask("sensor_clk_pin", "HX711 clock pin", int)

    def network(self) -> None:
        """WiFi network and broker, for the wifi transport only."""
        self.ask("wifi_ssid", "WiFi network")
        if "mqtt_host" not in self.changes:
            was = self.current("mqtt_host")
            scheme = "mqtts" if self.current("mqtt_tls") else "mqtt"
            url = _ask(
                "MQTT broker", f"{scheme}://{was}:{self.current('mqtt_port')}" if was else None
            )
            if url:
                self.changes.update(prov.broker_keys(url))

    def passwords(self, *, interactive: bool) -> None:
        """Passwords last, without echo, and only those the transport needs."""
        needs = []
        if self.current("transport") == "wifi":
            needs.append(("wifi_password", "WiFi password"))
        if self.current("mqtt_user"):
            needs.append(("mqtt_password", "MQTT password"))
        for key, label in needs:
            password = _secret(key, label, bool(self.existing.get(key)), interactive=interactive)
            if password is not None:
                self.changes[key] = password


def gather(args: argparse.Namespace, existing: dict[str, Any]) -> dict[str, Any]:
    """The changes: flags first, then answers for what the flags left out."""
    interview = Interview(existing, from_flags(args))
    if not args.no_input:
        interview.basics()
        if interview.current("transport") == "wifi":
            interview.network()
    interview.passwords(interactive=not args.no_input)
    return {k: v for k, v in interview.changes.items() if not (v is None and k not in existing)}


def run(args: argparse.Namespace) -> int:
    """Read what the board has, merge, validate, write; the passwords are never shown."""
    board = Mpremote(args.port, soft_reset=args.soft_reset)
    text = board.read_text("config.json")
    try:
        existing = json.loads(text) if text else {}
    except ValueError:
        logger.warning("the board's config.json is not JSON; starting from scratch")
        existing = {}
    if not isinstance(existing, dict):
        existing = {}
    values = prov.merged(existing, gather(args, existing))
    full = prov.validate(values)
    summary = prov.redacted(full)
    print(
        f"desk {summary['desk']}, transport {summary['transport']}, "
        f"broker {summary['mqtt_host']}:{summary['mqtt_port']}, prefix {summary['prefix']}, "
        f"sensor {summary['sensor']} on pin {summary['sensor_pin']}"
    )
    if args.dry_run:
        return 0
    with tempfile.TemporaryDirectory(prefix="sitless-provision-") as tmp:
        path = Path(tmp) / "config.json"
        path.touch(mode=0o600)
        path.write_text(prov.to_json(values))
        board.put(path, "config.json")
    print(f"config.json written to the board on {args.port}; reset the board to apply it")
    return 0
