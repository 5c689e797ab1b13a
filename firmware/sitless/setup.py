"""Setup mode: the chair's own WiFi network and a page that writes `config.json`, without USB.

`main.py` loads this module only when the chair has no WiFi configured or the
button was held at boot (see `start.setup_wanted`); the app never imports it.
The board opens an access point named `sitless-XXXXXX` (the end of its MAC)
and serves one form on every path; its DNS (`sitless.captive`) sends every
name to the board, so a phone's captive-portal check opens the form: WiFi
network and password, broker host, port, user and password, desk id, sensor
kind and pins. A submitted form goes through `config.check`, the same
checks `sitless provision` mirrors, on top of what the board already had
(calibration, other pins); a refusal shows the page again with the message by
the field it names. A good one is saved and the board restarts in normal mode.
Passwords are never written into the page or the console: a blank password
keeps the saved one.
"""

import asyncio
import json

from sitless import board, captive, config
from sitless.compat import const
from sitless.httpd import Server

HOST = "0.0.0.0"  # noqa: S104 - the access point is the only interface up
PORT = 80
DNS_PORT = 53
_RESTART_MS = const(500)  # lets the answer reach the browser before the reset

TEXT = 0
SECRET = 1
NUMBER = 2
CHOICE = 3
# Each field: its config key, its label, its kind and a hint.
FIELDS = (
    ("wifi_ssid", "WiFi network", TEXT, ""),
    ("wifi_password", "WiFi password", SECRET, "blank for an open network"),
    ("mqtt_host", "Broker host", TEXT, "the hub's broker, a name or an address"),
    ("mqtt_port", "Broker port", NUMBER, "1883 unless the broker says otherwise"),
    ("mqtt_user", "Broker user", TEXT, "blank if the broker takes anyone"),
    ("mqtt_password", "Broker password", SECRET, ""),
    ("desk", "Desk id", TEXT, "lower-case letters, digits, - and _, as the hub knows it"),
    ("sensor", "Sensor", CHOICE, "adc: FSR or velostat; hx711: load cell; switch: mat"),
    ("sensor_pin", "Sensor pin", NUMBER, "34 for adc unless wired otherwise"),
    ("sensor_clk_pin", "HX711 clock pin", NUMBER, "for the hx711 only"),
)
_STYLE = (
    "body{font-family:sans-serif;max-width:28em;margin:1em auto;padding:0 1em}"
    "label{display:block;margin-top:.8em;font-weight:bold}"
    "input,select{width:100%;padding:.4em;box-sizing:border-box;font-size:1em}"
    "small{color:#555}.err{color:#b00020;font-weight:bold}"
    "button{margin-top:1.2em;padding:.6em 1.2em;font-size:1em}"
)

_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#39;"))


def escape(text):
    """Text safe inside HTML and in a quoted attribute."""
    text = str(text)
    for raw, safe in _ESCAPES:
        text = text.replace(raw, safe)
    return text


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


def _field_of(message):
    """(key, rest of the message) when a config message names a field on the form."""
    words = message.split(" ", 2)
    if len(words) == 3 and words[0] == "config:":
        for field in FIELDS:
            if field[0] == words[1]:
                return field[0], words[2]
    return None, message


def _input(field, values, problem):
    key, label, kind, hint = field
    attrs = 'id="%s" name="%s"' % (key, key)
    if problem:
        attrs += ' aria-invalid="true" aria-describedby="%s-error"' % key
    if kind == CHOICE:
        options = ""
        for choice in config.CHOICES[key]:
            chosen = " selected" if values.get(key) == choice else ""
            options += '<option value="%s"%s>%s</option>' % (choice, chosen, choice)
        control = "<select %s>%s</select>" % (attrs, options)
    elif kind == SECRET:
        if values.get(key):
            hint = "saved; leave blank to keep it"
        control = '<input type="password" autocomplete="new-password" %s>' % attrs
    else:
        value = values.get(key)
        extra = ' inputmode="numeric"' if kind == NUMBER else ""
        control = '<input type="text"%s %s value="%s">' % (
            extra,
            attrs,
            "" if value is None else escape(value),
        )
    text = '<label for="%s">%s</label>%s' % (key, label, control)
    if problem:
        text += '<div class="err" id="%s-error">%s</div>' % (key, escape(problem))
    if hint:
        text += "<small>%s</small>" % escape(hint)
    return text


def page(values, error=None):
    """The setup form, filled from `values` (passwords never), with `error` by its field."""
    key, problem = _field_of(error) if error else (None, None)
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>sitless chair setup</title><style>%s</style></head><body>"
        "<h1>Chair setup</h1>" % _STYLE
    ]
    if error:
        label = key
        for field in FIELDS:
            if field[0] == key:
                label = field[1]
        where = "%s (%s): " % (label, key) if key else ""
        parts.append('<p class="err" role="alert" id="error">%s%s</p>' % (where, escape(problem)))
    parts.append('<form method="post" action="/">')
    parts.extend(_input(field, values, problem if field[0] == key else None) for field in FIELDS)
    parts.append('<button type="submit" id="save">Save and restart</button></form></body></html>')
    return "".join(parts)


def done_page(cfg):
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>sitless chair setup: saved</title></head><body>"
        '<h1 id="saved">Saved</h1><p>The chair restarts now and joins %s, then the broker at '
        "%s:%d as desk %s. This network goes away.</p></body></html>"
        % (
            escape(cfg["wifi_ssid"]),
            escape(cfg["mqtt_host"]),
            cfg["mqtt_port"],
            escape(cfg["desk"]),
        )
    )


class Setup:
    """The form's state: the board's saved config, and whether a good one was just written."""

    def __init__(self, path):
        self.path = path
        self.base = saved(path)
        self.done = asyncio.Event()

    def handle(self, method, path, body):
        if method == "GET":
            if path.startswith("/favicon"):
                return 404, "<!doctype html><title>404</title>"
            return 200, page(self.base)
        if method != "POST":
            return 405, "<!doctype html><title>405</title><p>GET or POST only</p>"
        try:
            form = parse_form(body)
        except UnicodeError:
            return 400, page(self.base, "the form was not sent as UTF-8")
        try:
            cfg = config.check(changes(form, self.base), self.base)
        except config.ConfigError as exc:
            print("sitless: setup refused:", exc)  # the messages name keys, never values
            shown = {}
            for key in self.base:
                shown[key] = self.base[key]
            for field in FIELDS:
                if field[2] != SECRET and field[0] in form:
                    shown[field[0]] = form[field[0]]
            return 400, page(shown, str(exc))
        config.save(cfg, self.path)
        print("sitless: setup saved the config for desk %s; restarting" % cfg["desk"])
        self.done.set()
        return 200, done_page(cfg)


def network_name():
    """`sitless-` and the last three bytes of the board's id, in hex."""
    uid = board.machine.unique_id()
    return "sitless-%02x%02x%02x" % (uid[-3], uid[-2], uid[-1])


async def serve(setup, chair, name, address):
    """The form (and the DNS that sends every name here) until a good config is saved."""
    names = asyncio.create_task(captive.serve(captive.bind(HOST, DNS_PORT), address))
    server = await asyncio.start_server(Server(setup.handle).serve, HOST, PORT)
    print("sitless: setup mode: join the WiFi network %s and open http://%s/" % (name, address))
    await setup.done.wait()
    await asyncio.sleep_ms(_RESTART_MS)
    server.close()
    names.cancel()
    chair.reset()


def access_point(essid):
    """Open the board's own WiFi network, with the `network` that `board` imported; its address.

    Open (no password): the setup page is all it offers, and only while setup mode runs.
    """
    network = board.network
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    ap.config(essid=essid, authmode=0)
    return ap.ifconfig()[0]


def run(path=config.CONFIG_FILE):
    """Open the access point and serve the form until a good config is saved; then reset."""
    chair = board.Board(None)
    name = network_name()
    address = access_point(name)
    asyncio.run(serve(Setup(path), chair, name, address))
