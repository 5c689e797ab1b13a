# ruff: noqa: ARG002, PTH123 - the signatures mirror the real network module; MicroPython code
"""A stand-in for the ESP32 `network` module: a WiFi radio whose access point a test controls.

The access point is in one of three states, from `AP` (a script sets it
directly) or, when the folder named by SITLESS_FAKE_DIR holds a file `wifi`,
from that file (a test driving a firmware process writes it):

- "up" (the default): in range; a station that asked to connect is associated.
- "down": gone; an associated station loses the link at once (`isconnected`
  is False) and `status()` says STAT_NO_AP_FOUND until it comes back.
- "refuse": in range but refusing the association (a changed password, a
  full access point): `status()` says STAT_WRONG_PASSWORD.

As on the board, `connect` only starts the attempt: the station keeps trying
(and associates once the access point is up) until `disconnect`. Every change
the station sees is recorded in `EVENTS` (and printed as `FAKE wifi ...` with
SITLESS_FAKE_ECHO set): connect requested, associated, dropped, refused.
"""

import os

STA_IF = 0
AP_IF = 1
STAT_IDLE = 1000
STAT_CONNECTING = 1001
STAT_GOT_IP = 1010
STAT_NO_AP_FOUND = 201
STAT_WRONG_PASSWORD = 202

AP = "up"
EVENTS = []
_DIR = os.getenv("SITLESS_FAKE_DIR")
_ECHO = os.getenv("SITLESS_FAKE_ECHO")


def access_point():
    """The access point's state: the `wifi` file's first word when there is one, else `AP`."""
    if _DIR:
        try:
            with open(_DIR + "/wifi") as f:
                word = f.read().strip()
            if word in ("up", "down", "refuse"):
                return word
        except OSError:
            pass
    return AP


def _event(what, detail=""):
    EVENTS.append((what, detail))
    if len(EVENTS) > 200:
        del EVENTS[0]
    if _ECHO:
        print("FAKE wifi", what, detail)


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._wanted = False  # connect() was called and no disconnect() since
        self._connected = False
        self._refused = False  # the last refusal was recorded (once per attempt)

    def active(self, on=None):
        if on is not None:
            self._active = on
            if not on:
                self._wanted = self._connected = False
        return self._active

    def connect(self, ssid=None, password=None):
        if not self._active:
            raise OSError("wifi not active")
        self._wanted = True
        self._refused = False
        _event("connect", access_point())
        self._look()

    def disconnect(self):
        if self._wanted or self._connected:
            _event("disconnect")
        self._wanted = self._connected = False

    def _look(self):
        """Follow the access point: associate, drop or be refused as it is now."""
        ap = access_point()
        if self._connected and ap != "up":
            self._connected = False
            _event("dropped", ap)
        if self._wanted and not self._connected:
            if ap == "up":
                self._connected = True
                _event("associated")
            elif ap == "refuse" and not self._refused:
                self._refused = True
                _event("refused")
        return ap

    def isconnected(self):
        self._look()
        return self._connected

    def status(self, what=None):
        if what == "rssi":
            return -52
        ap = self._look()
        if self._connected:
            return STAT_GOT_IP
        if not self._wanted:
            return STAT_IDLE
        if ap == "refuse":
            return STAT_WRONG_PASSWORD
        if ap == "down":
            return STAT_NO_AP_FOUND
        return STAT_CONNECTING

    def config(self, what=None, **settings):
        if settings:  # an access point's essid, authmode...
            self.settings = settings
            _event("ap", settings)
            return None
        if what == "mac":
            return b"\x24\x0a\xc4\x12\x34\x56"
        raise ValueError(what)

    def ifconfig(self):
        return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "192.168.4.1")
