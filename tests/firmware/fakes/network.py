# ruff: noqa: ARG002 - the signatures mirror the real network module
"""A stand-in for the ESP32 `network` module: WiFi that is always in range."""

STA_IF = 0
AP_IF = 1


class WLAN:
    def __init__(self, interface=STA_IF):
        self._active = False
        self._connected = False

    def active(self, on=None):
        if on is not None:
            self._active = on
        return self._active

    def connect(self, ssid=None, password=None):
        self._connected = True

    def disconnect(self):
        self._connected = False

    def isconnected(self):
        return self._connected

    def status(self, what=None):
        return -52 if what == "rssi" else 1010

    def config(self, what=None, **settings):
        if settings:  # an access point's essid, authmode...
            self.settings = settings
            return None
        if what == "mac":
            return b"\x24\x0a\xc4\x12\x34\x56"
        raise ValueError(what)

    def ifconfig(self):
        return ("192.168.4.1", "255.255.255.0", "192.168.4.1", "192.168.4.1")
