"""Setup mode: the chair's own WiFi network and a page that writes `config.json`, without USB.

`main.py` loads this module only when the chair has no WiFi configured or the
button was held at boot (see `start.setup_wanted`); the app never imports it.
The board opens an access point named `sitless-XXXXXX` (the end of its MAC),
WPA2 with the board's own password (made once, kept in `setup.key` and
printed on the console when setup mode starts), and serves one form on every
path; its DNS (`sitless.captive`) sends every
name to the board, so a phone's captive-portal check opens the form: WiFi
network and password, broker host, port, user and password, TLS and the
broker's CA certificate (pasted as PEM, written to the file `mqtt_ca` names),
desk id, sensor kind and pins. A submitted form goes through the `config`
checks, the same ones `sitless provision` mirrors, on top of what the board
already had (calibration, other pins); a refusal shows the page again with one
message by each field it names. A good one is saved and the board restarts in
normal mode. Passwords are never written into the page or the console: a
blank password keeps the saved one. A board that already has a usable config
(it is here because the button was held at boot) restarts into normal mode
when the form has been left alone for ten minutes; a board without one stays.
"""

import asyncio
import os
from time import ticks_diff, ticks_ms  # module names, so a test can run setup on its own clock

from sitless import board, captive, config
from sitless.compat import const
from sitless.httpd import Server
from sitless.setupform import (
    CHECK,
    CHOICE,
    FIELDS,
    NUMBER,
    PEM,
    SECRET,
    ca_problem,
    changes,
    checked,
    exists,
    field_of,
    in_order,
    parse_form,
    remove,
    saved,
)

KEY_FILE = "setup.key"  # the setup network's WPA2 password, made once per board
# 32 letters and digits, none easy to misread (no l, o, 0 or 1): 5 random bits a character.
_KEY_CHARS = "abcdefghijkmnpqrstuvwxyz23456789"
_KEY_LENGTH = const(12)  # 60 bits
HOST = "0.0.0.0"  # noqa: S104 - the access point is the only interface up
PORT = 80
DNS_PORT = 53
_RESTART_MS = const(500)  # lets the answer reach the browser before the reset
_IDLE_MS = const(600_000)  # no request for this long, and a usable config: back to normal mode
_LOOK_MS = const(250)

_STYLE = (
    "body{font-family:sans-serif;max-width:28em;margin:1em auto;padding:0 1em}"
    "label{display:block;margin-top:.8em;font-weight:bold}"
    "input,select,textarea{width:100%;padding:.4em;box-sizing:border-box;font-size:1em}"
    "input[type=checkbox]{width:auto}textarea{font-family:monospace;font-size:.8em}"
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


def _input(field, values, problem, pem, ca_note):
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
    elif kind == CHECK:
        on = values.get(key) not in (None, False, "")
        control = '<input type="checkbox" %s value="1"%s>' % (attrs, " checked" if on else "")
    elif kind == PEM:
        hint = ca_note
        control = '<textarea %s rows="6" spellcheck="false">%s</textarea>' % (attrs, escape(pem))
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


def page(values, problems=None, pem="", ca_note=""):
    """The setup form, filled from `values` (passwords never), each problem by its field.

    `problems`: {config key, or None for one not on the form: the config message}.
    `pem`: the text of the CA certificate's box; `ca_note`: the hint under it.
    """
    problems = problems or {}
    shown = {}  # key: the message without its "config: key " start
    for key in problems:
        shown[key] = field_of(problems[key])[1]
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>sitless chair setup</title><style>%s</style></head><body>"
        "<h1>Chair setup</h1>" % _STYLE
    ]
    if problems:
        parts.append('<div class="err" role="alert" id="error">')
        parts.extend(  # in the form's order, then what names no field
            "<p>%s (%s): %s</p>" % (field[1], field[0], escape(shown[field[0]]))
            for field in FIELDS
            if field[0] in shown
        )
        if None in shown:
            parts.append("<p>%s</p>" % escape(shown[None].replace("config: ", "", 1)))
        parts.append("</div>")
    parts.append('<form method="post" action="/">')
    parts.extend(_input(field, values, shown.get(field[0]), pem, ca_note) for field in FIELDS)
    parts.append('<button type="submit" id="save">Save and restart</button></form></body></html>')
    return "".join(parts)


def done_page(cfg):
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>sitless chair setup: saved</title></head><body>"
        '<h1 id="saved">Saved</h1><p>The chair restarts now and joins %s, then the broker at '
        "%s:%d%s as desk %s. This network goes away.</p></body></html>"
        % (
            escape(cfg["wifi_ssid"]),
            escape(cfg["mqtt_host"]),
            cfg["mqtt_port"],
            " over TLS" if cfg["mqtt_tls"] else "",
            escape(cfg["desk"]),
        )
    )


class Setup:
    """The form's state, and when the form was last asked for (the idle countdown).

    That is the board's saved config, whether it is usable as it is, and
    whether a good one was just written.
    """

    def __init__(self, path):
        self.path = path
        self.base = saved(path)
        try:
            config.load(path)
            self.usable = True
        except config.ConfigError:
            self.usable = False
        self.done = False
        self.seen = ticks_ms()

    def ca(self):
        """The CA file's name, and the hint under its box."""
        path = self.base.get("mqtt_ca") or config.KEYS["mqtt_ca"][1]
        if exists(path):
            return path, "%s is on the board; paste another to replace it, or leave blank" % path
        return path, "for TLS: paste (as PEM) the certificate of the CA that signed the broker's"

    def handle(self, method, path, body):
        self.seen = ticks_ms()  # someone is at the page: the idle countdown starts again
        ca, note = self.ca()
        if method == "GET":
            if path.startswith("/favicon"):
                return 404, "<!doctype html><title>404</title>"
            return 200, page(self.base, None, "", note)
        if method != "POST":
            return 405, "<!doctype html><title>405</title><p>GET or POST only</p>"
        try:
            form = parse_form(body)
        except UnicodeError:
            return 400, page(self.base, {None: "the form was not sent as UTF-8"}, "", note)
        obj = changes(form, self.base)
        problems = {}
        cfg = checked(obj, self.base, problems)
        pem = form.get("mqtt_ca", "").replace("\r\n", "\n").strip()
        problem = ca_problem(pem, ca, obj["mqtt_tls"])
        if problem:
            problems["mqtt_ca"] = problem
        if problems or cfg is None:
            remove(ca + ".new")
            # The messages name keys, never values.
            print("sitless: setup refused:", "; ".join(in_order(problems)))
            shown = {}
            for key in self.base:
                shown[key] = self.base[key]
            for field in FIELDS:
                if field[2] != SECRET and field[0] in form:
                    shown[field[0]] = form[field[0]]
            shown["mqtt_tls"] = obj["mqtt_tls"]
            return 400, page(shown, problems, pem, note)
        if pem:  # the certificate first: the config may need it
            try:
                os.rename(ca + ".new", ca)
            except OSError:  # a file system that does not rename onto a file
                remove(ca)
                os.rename(ca + ".new", ca)
        config.save(cfg, self.path)
        print("sitless: setup saved the config for desk %s; restarting" % cfg["desk"])
        self.done = True
        return 200, done_page(cfg)


def network_name():
    """`sitless-` and the last three bytes of the board's id, in hex."""
    uid = board.machine.unique_id()
    return "sitless-%02x%02x%02x" % (uid[-3], uid[-2], uid[-1])


async def serve(setup, chair, name, address, password):
    """The form (and the DNS that sends every name here) until a good config is saved.

    Or until the form has been left alone for ten minutes on a board whose
    config is usable: then it restarts into normal mode with that config.
    """
    names = asyncio.create_task(captive.serve(captive.bind(HOST, DNS_PORT), address))
    server = await asyncio.start_server(Server(setup.handle).serve, HOST, PORT)
    # The console is where the password is learnt (see firmware/README.md, "Onboarding").
    print(
        "sitless: setup mode: join the WiFi network %s (password %s) and open http://%s/"
        % (name, password, address)
    )
    setup.seen = ticks_ms()
    while not setup.done:
        await asyncio.sleep_ms(_LOOK_MS)
        idle = ticks_diff(ticks_ms(), setup.seen)
        if setup.usable and idle >= _IDLE_MS:
            # The button was held at boot but nobody came: the saved config still works.
            print(
                "sitless: setup mode: no form for %d minutes; restarting with the saved config"
                % (_IDLE_MS // 60_000)
            )
            break
    if setup.done:
        await asyncio.sleep_ms(_RESTART_MS)
    server.close()
    names.cancel()
    chair.reset()


def key(path=KEY_FILE):
    """The setup network's password: the one in `path`, else a new random one saved there.

    Kept, so that it is learnt once (it is printed when setup mode starts) and
    works for every later long press; a board's owner may put one of their own
    there (8 to 63 printable characters).
    """
    try:
        with open(path) as f:
            text = f.read().strip()
        if 8 <= len(text) <= 63 and not [ch for ch in text if not " " <= ch <= "~"]:
            return text
    except (OSError, UnicodeError):
        pass
    text = "".join(_KEY_CHARS[byte & 31] for byte in os.urandom(_KEY_LENGTH))
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError:
        print("sitless: setup mode: could not keep the password in %s" % path)
    return text


def access_point(essid, password):
    """Open the board's own WiFi network (WPA2, `password`) with `board`'s `network`.

    Its address is returned. Only setup mode opens it, and only the setup page is served on it.
    """
    network = board.network
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    ap.config(essid=essid, password=password, authmode=3)  # 3: WPA2-PSK (AUTH_WPA2_PSK)
    return ap.ifconfig()[0]


def run(path=config.CONFIG_FILE):
    """Open the access point and serve the form until a good config is saved; then reset."""
    chair = board.Board(None)
    name = network_name()
    password = key()
    address = access_point(name, password)
    asyncio.run(serve(Setup(path), chair, name, address, password))
