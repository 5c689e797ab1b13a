"""Everything that touches the ESP32: the only module that imports `machine` and `network`.

The rest of the firmware gets the clock and a reset from here (and the WiFi
interface once `link` made it, for the signal strength); `start` builds the
pins, ADC, PWM and watchdog with the `machine` imported here, `link` joins
WiFi with its `network`, and setup mode (`setup`) opens its access point with
it. So the firmware runs
unchanged under the MicroPython unix port with fake `machine` and `network`
modules in the tests.
"""

import binascii
import struct
import time

import machine
import network  # noqa: F401 - `link` and `setup` take it from here: this module owns the hardware

BOARD = "ESP32_GENERIC"
MAGIC = b"SLs1"  # the layout of the kept state, version 1
STATE = "<7i"  # `sitless.start` reads it back at boot
# time.time() counts from 2000-01-01 on some ports; unix time is then this much larger.
EPOCH_2000_MS = 946_684_800_000


class Board:
    """The clock, the reset and the WiFi interface of the board the firmware runs on."""

    name = BOARD

    def __init__(self, cfg):
        self.cfg = cfg
        self.wlan = None
        self.clock_synced = False
        self._epoch_ms = EPOCH_2000_MS if time.gmtime(0)[0] == 2000 else 0

    def keep(self, values):
        """Keep a few integers (the sitting state) in RTC memory, with a checksum."""
        data = struct.pack(STATE, *values)
        machine.RTC().memory(MAGIC + data + struct.pack("<I", binascii.crc32(data)))

    def reset(self):
        machine.reset()

    def unix_ms(self):
        """Unix time in milliseconds, or None until NTP has set the clock."""
        if not self.clock_synced:
            return None
        return time.time_ns() // 1_000_000 + self._epoch_ms
