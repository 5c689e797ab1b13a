"""The board's `config.json`: one flat JSON object, checked key by key.

The keys, types and defaults follow the table in docs/serial.md, which the
host's `sitless calibrate` and `serial-bridge` share. `check` returns the full
config or raises ConfigError naming the first bad key, so the console says
exactly what to fix and the board can stay idle instead of crashing.
"""

import json

CONFIG_FILE = "config.json"

INT = 1
NUMBER = 2
TEXT = 3
PIN = 4
BOOL = 5

# key: (kind, default, may be null, lowest, highest)
KEYS = {
    "desk": (TEXT, None, False, 1, 48),
    "transport": (TEXT, "wifi", False, 1, 8),
    "wifi_ssid": (TEXT, None, True, 1, 32),
    "wifi_password": (TEXT, None, True, 0, 64),
    "mqtt_host": (TEXT, None, True, 1, 253),
    "mqtt_port": (INT, 1883, False, 1, 65535),
    "mqtt_user": (TEXT, None, True, 1, 64),
    "mqtt_password": (TEXT, None, True, 0, 128),
    # TLS (mqtts): the broker's certificate is checked against the CA certificate in this
    # file on the board (PEM or DER), and must name mqtt_host.
    "mqtt_tls": (BOOL, False, False, 0, 1),
    "mqtt_ca": (TEXT, "ca.pem", False, 1, 64),
    "prefix": (TEXT, "sitless", False, 1, 128),
    "sensor": (TEXT, "adc", False, 1, 8),
    "sensor_pin": (PIN, 34, False, 0, 48),
    "sensor_clk_pin": (PIN, None, True, 0, 48),
    "empty": (NUMBER, None, True, -(1 << 30), 1 << 30),
    "occupied": (NUMBER, None, True, -(1 << 30), 1 << 30),
    "seated_ms": (INT, 2000, False, 0, 600_000),
    "vacant_ms": (INT, 5000, False, 0, 600_000),
    "buzzer_pin": (PIN, 25, True, 0, 48),
    "led_pin": (PIN, 2, True, 0, 48),
    "button_pin": (PIN, 0, True, 0, 48),
    "motor_pin": (PIN, None, True, 0, 48),
    "safe_pin": (PIN, 15, True, 0, 48),
    "limit_s": (INT, 1800, False, 1, 86_400),
    "min_break_s": (INT, 120, False, 1, 86_400),
    "telemetry_s": (INT, 60, False, 1, 86_400),
    "sample_ms": (INT, 50, False, 10, 10_000),
    "strict": (BOOL, False, False, 0, 1),
    "max_snoozes": (INT, 3, False, 0, 100),
}
CHOICES = {"transport": ("wifi", "serial"), "sensor": ("adc", "hx711", "switch")}
ADC1_PINS = (32, 33, 34, 35, 36, 37, 38, 39)
# Keys that only take effect after a reboot (pins, network); the rest apply at once.
REBOOT_KEYS = (
    "desk",
    "transport",
    "wifi_ssid",
    "wifi_password",
    "mqtt_host",
    "mqtt_port",
    "mqtt_user",
    "mqtt_password",
    "mqtt_tls",
    "mqtt_ca",
    "prefix",
    "sensor",
    "sensor_pin",
    "sensor_clk_pin",
    "buzzer_pin",
    "led_pin",
    "button_pin",
    "motor_pin",
    "safe_pin",
)
SECRET_KEYS = ("wifi_password", "mqtt_password")


class ConfigError(ValueError):
    """A bad config; the message names the key."""


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_key(key, value):
    spec = KEYS.get(key)
    if spec is None:
        raise ConfigError("config: unknown key %r" % key)
    kind, _default, nullable, lo, hi = spec
    if value is None:
        if nullable:
            return
        raise ConfigError("config: %s must be set" % key)
    if kind == TEXT:
        if not isinstance(value, str) or not lo <= len(value) <= hi:
            raise ConfigError("config: %s must be text of %d to %d characters" % (key, lo, hi))
        if key in CHOICES and value not in CHOICES[key]:
            raise ConfigError("config: %s must be one of %s" % (key, ", ".join(CHOICES[key])))
        return
    if kind == BOOL:
        if not isinstance(value, bool):
            raise ConfigError("config: %s must be true or false" % key)
        return
    if kind == NUMBER:
        ok = (_is_int(value) or isinstance(value, float)) and value == value  # noqa: PLR0124 - NaN test
    else:
        ok = _is_int(value)
    if not ok:
        raise ConfigError(
            "config: %s must be %s" % (key, "a number" if kind == NUMBER else "an integer")
        )
    if not lo <= value <= hi:
        raise ConfigError("config: %s must be between %d and %d" % (key, lo, hi))


def _desk_ok(desk):
    if not 1 <= len(desk) <= 48:
        return False
    for i, ch in enumerate(desk):
        if "a" <= ch <= "z" or "0" <= ch <= "9":
            continue
        if i and ch in "_-":
            continue
        return False
    return True


def _prefix_ok(prefix):
    for level in prefix.split("/"):
        if not level or level == "_hub":
            return False
        for ch in level:
            if not ("a" <= ch <= "z" or "A" <= ch <= "Z" or "0" <= ch <= "9" or ch in "_-"):
                return False
    return True


def _check_whole(cfg):
    if not _desk_ok(cfg["desk"]):
        raise ConfigError("config: desk must match ^[a-z0-9][a-z0-9_-]{0,47}$")
    if not _prefix_ok(cfg["prefix"]):
        raise ConfigError("config: prefix must be levels of letters, digits, - or _, not _hub")
    sensor = cfg["sensor"]
    if sensor == "adc" and cfg["sensor_pin"] not in ADC1_PINS:
        raise ConfigError("config: sensor_pin must be an ADC1 pin (32-39) for the adc sensor")
    if sensor == "hx711" and cfg["sensor_clk_pin"] is None:
        raise ConfigError("config: sensor_clk_pin must be set for the hx711 sensor")
    if (cfg["empty"] is None) != (cfg["occupied"] is None):
        raise ConfigError("config: empty and occupied must be set together")
    if cfg["empty"] is not None and cfg["empty"] == cfg["occupied"]:
        raise ConfigError("config: empty and occupied must differ")
    if cfg["transport"] == "wifi":
        for key in ("wifi_ssid", "mqtt_host"):
            if cfg[key] is None:
                raise ConfigError("config: %s must be set for the wifi transport" % key)


def check(obj, base=None):
    """The full config from `obj` (on top of `base`, or the defaults).

    Raises ConfigError naming the first bad key.
    """
    if not isinstance(obj, dict):
        raise ConfigError("config: expected one JSON object")
    cfg = {}
    for key in KEYS:
        cfg[key] = KEYS[key][1]
    if base:
        for key in base:
            cfg[key] = base[key]
    for key in obj:
        _check_key(key, obj[key])
        cfg[key] = obj[key]
    for key in KEYS:
        _check_key(key, cfg[key])
    _check_whole(cfg)
    return cfg


def load(path=CONFIG_FILE):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("config: %s not found" % path) from None
    try:
        obj = json.loads(text)
    except ValueError:
        raise ConfigError("config: %s is not valid JSON" % path) from None
    return check(obj)


def save(cfg, path=CONFIG_FILE):
    """Write through a temporary file, so a power cut never leaves half a config."""
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(cfg))
    try:
        import os

        os.rename(tmp, path)
    except OSError:
        with open(path, "w") as f:
            f.write(json.dumps(cfg))


def redacted(cfg):
    """A copy safe to print: secrets replaced."""
    out = {}
    for key in cfg:
        out[key] = "***" if key in SECRET_KEYS and cfg[key] else cfg[key]
    return out
