"""The setup page's form: its fields, what a browser sends, and the checks of what it sends.

Loaded with `sitless.setup` (setup mode only). A field's value goes through
the config's own check, every field on its own first, so that each bad one
gets its message; the CA certificate pasted for TLS is checked by the code
that will read it when connecting (`sitless.link`).
"""

import json
import os

from sitless import call, config

TEXT = 0
SECRET = 1
NUMBER = 2
CHOICE = 3
CHECK = 4  # a checkbox: true when sent
PEM = 5  # the CA certificate's text, for the file `mqtt_ca` names (not a config value)
# Each field: its config key, its label, its kind and a hint.
FIELDS = (
    ("wifi_ssid", "WiFi network", TEXT, ""),
    ("wifi_password", "WiFi password", SECRET, "blank for an open network"),
    ("mqtt_host", "Broker host", TEXT, "the hub's broker, a name or an address"),
    ("mqtt_port", "Broker port", NUMBER, "1883 unless the broker says otherwise"),
    ("mqtt_user", "Broker user", TEXT, "blank if the broker takes anyone"),
    ("mqtt_password", "Broker password", SECRET, ""),
    ("mqtt_tls", "Broker over TLS (mqtts)", CHECK, "usually on port 8883"),
    ("mqtt_ca", "Broker's CA certificate", PEM, ""),
    ("desk", "Desk id", TEXT, "lower-case letters, digits, - and _, as the hub knows it"),
    ("sensor", "Sensor", CHOICE, "adc: FSR or velostat; hx711: load cell; switch: mat"),
    ("sensor_pin", "Sensor pin", NUMBER, "34 for adc unless wired otherwise"),
    ("sensor_clk_pin", "HX711 clock pin", NUMBER, "for the hx711 only"),
)


def _hex(byte):
    """A hex digit's value, or -1."""
    if 48 <= byte <= 57:
        return byte - 48
    byte |= 32  # lower case
    return byte - 87 if 97 <= byte <= 102 else -1


def _unquote(raw):
    """One form value (bytes, `+` and `%XX` escaped) as text."""
    raw = raw.replace(b"+", b" ")
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 37 and i + 2 < len(raw):  # %XX
            high, low = _hex(raw[i + 1]), _hex(raw[i + 2])
            if high >= 0 and low >= 0:
                out.append(high * 16 + low)
                i += 3
                continue
        out.append(byte)
        i += 1
    return out.decode()


def parse_form(body):
    """The form's fields as a dict of text (names not on the form are ignored)."""
    names = [field[0] for field in FIELDS]
    form = {}
    for pair in body.split(b"&"):
        name, _sep, value = pair.partition(b"=")
        name = _unquote(name)
        if name in names:
            form[name] = _unquote(value)
    return form


def changes(form, base):
    """The config keys the form sets; blank passwords keep the saved ones."""
    obj = {}
    obj["transport"] = "wifi"
    for key, _label, kind, _hint in FIELDS:
        value = form.get(key, "")
        if kind == SECRET:
            if value:
                obj[key] = value
            elif key not in base:
                obj[key] = None
            continue
        if kind == CHECK:
            obj[key] = key in form
            continue
        if kind == PEM:  # a file of its own (see `Setup.ca_problem`)
            continue
        if kind != TEXT or key != "wifi_ssid":
            value = value.strip()
        if kind == NUMBER:
            if not value:
                if config.KEYS[key][2]:  # may be null: blank is none
                    obj[key] = None
                continue  # blank: what the board had, else the default
            digits = value[1:] if value.startswith("-") else value
            obj[key] = int(value) if digits.isdigit() else value  # else: "must be an integer"
        elif value or kind == TEXT:
            obj[key] = value or None
    return obj


def saved(path):
    """The keys of the board's config file that pass their own check (others are dropped)."""
    try:
        with open(path) as f:
            raw = json.loads(f.read())
    except (OSError, ValueError):
        return {}
    kept = {}
    if isinstance(raw, dict):
        for key in raw:
            try:
                config._check_key(key, raw[key])  # noqa: SLF001 - the same package's check
            except config.ConfigError:
                continue
            kept[key] = raw[key]
    return kept


def field_of(message):
    """(key, rest of the message) when a config message names a field on the form."""
    words = message.split(" ", 2)
    if len(words) == 3 and words[0] == "config:":
        for field in FIELDS:
            if field[0] == words[1]:
                return field[0], words[2]
    return None, message


def in_order(problems):
    """The messages of `problems` in the form's order, then the one that names no field."""
    out = [problems[field[0]] for field in FIELDS if field[0] in problems]
    if None in problems:
        out.append(problems[None])
    return out


def _key_problem(key, value):
    try:
        config._check_key(key, value)  # noqa: SLF001 - the same package's check
    except config.ConfigError as exc:
        return str(exc)
    return None


def checked(obj, base, problems):
    """The config from `obj` on top of `base`; None when `problems` ({key: message}) got any.

    Every value is checked on its own first, so each bad field gets its message;
    then the whole config without the bad ones, again until it passes or a
    problem repeats (a rule between keys names one of them).
    """
    for key in obj:
        problem = _key_problem(key, obj[key])
        if problem:
            problems[key] = problem
    while True:
        trial = {}
        for key in obj:
            if key not in problems:
                trial[key] = obj[key]
        try:
            cfg = config.check(trial, base)
        except config.ConfigError as exc:
            key = field_of(str(exc))[0]  # None: a key not on the form
            if key in problems:
                return None
            problems[key] = str(exc)
            if key in trial:
                continue
            return None
        return None if problems else cfg


def exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def ca_problem(pem, path, tls):
    """None when the pasted CA certificate is usable or none is needed; else the problem.

    A usable one waits in `path`.new for the rest of the form. It is checked
    by the code that reads it when connecting (`link`).
    """
    if not pem:
        if tls and not exists(path):
            return "config: mqtt_ca must be pasted for TLS: there is no %s on the board" % path
        return None
    if "-----BEGIN CERTIFICATE-----" not in pem:
        return "config: mqtt_ca must be a PEM certificate: -----BEGIN CERTIFICATE----- ..."
    try:
        with open(path + ".new", "w") as f:
            f.write(pem + "\n")
        call("link", "tls_context", path + ".new")
    except OSError:
        remove(path + ".new")
        return "config: mqtt_ca is not a CA certificate the chair can read (cut short?)"
    return None
