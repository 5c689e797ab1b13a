"""Everything that touches the ESP32: the only module that imports `machine` and `network`.

The rest of the firmware gets its pins, ADC, PWM, watchdog, WiFi and clock
from here, so it runs unchanged under the MicroPython unix port with fake
`machine` and `network` modules in the tests.
"""

import asyncio
import time

import machine
import network

from sitless.compat import const

BOARD = "ESP32_GENERIC"
_WIFI_TIMEOUT_MS = const(20_000)
# time.time() counts from 2000-01-01 on some ports; unix time is then this much larger.
EPOCH_2000_MS = 946_684_800_000


def safe_mode_requested(pin_number):
    """True while the safe-mode pin is held low at boot."""
    if pin_number is None:
        return False
    pin = machine.Pin(pin_number, machine.Pin.IN, machine.Pin.PULL_UP)
    return pin.value() == 0


class Board:
    name = BOARD

    def __init__(self, cfg):
        self.cfg = cfg
        self.wlan = None
        self.clock_synced = False
        self._epoch_ms = EPOCH_2000_MS if time.gmtime(0)[0] == 2000 else 0

    # The parts are built by `start`, loaded for start-up only (the app drops it after).

    def sensor(self):
        from sitless import start

        return start.sensor(machine, self.cfg)

    def actuators(self):
        from sitless import start

        return start.actuators(machine, self.cfg)

    def button(self, on_press):
        from sitless import start

        return start.button(machine, self.cfg, on_press)

    def watchdog(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    def reset(self):
        machine.reset()

    def mac(self):
        wlan = network.WLAN(network.STA_IF)
        raw = wlan.config("mac")
        return ":".join("%02x" % b for b in raw)

    async def wifi_up(self):
        """Connect (or confirm) WiFi without blocking the loop; False after a timeout."""
        if self.wlan is None:
            self.wlan = network.WLAN(network.STA_IF)
            self.wlan.active(True)
        if self.wlan.isconnected():
            return True
        try:
            self.wlan.connect(self.cfg["wifi_ssid"], self.cfg["wifi_password"] or "")
        except OSError as exc:
            print("wifi: connect failed:", exc)
            return False
        start = time.ticks_ms()
        while time.ticks_diff(time.ticks_ms(), start) < _WIFI_TIMEOUT_MS:
            if self.wlan.isconnected():
                return True
            await asyncio.sleep_ms(250)
        self.wlan.disconnect()
        return False

    def rssi(self):
        if self.wlan is None or not self.wlan.isconnected():
            return None
        try:
            return int(self.wlan.status("rssi"))
        except (OSError, ValueError, TypeError):
            return None

    def sync_time(self):
        """Set the clock from NTP; ntptime blocks for at most about a second."""
        try:
            import ntptime
            ntptime.settime()
        except (OSError, ImportError, OverflowError) as exc:
            print("ntp: not synced:", exc)
            return False
        self.clock_synced = True
        return True

    def unix_ms(self):
        """Unix time in milliseconds, or None until NTP has set the clock."""
        if not self.clock_synced:
            return None
        return time.time_ns() // 1_000_000 + self._epoch_ms
