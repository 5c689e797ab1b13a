# ruff: noqa: PTH123, UP031, ARG002 - MicroPython code (no pathlib), mirroring machine's signatures
"""A stand-in for the ESP32 `machine` module under the MicroPython unix port.

Inputs (an ADC reading, an input pin level) come from `INPUTS`, which a test
script sets directly, or from small files in the folder named by the
SITLESS_FAKE_DIR environment variable (`adc34` holding `1500000`, `pin0`
holding `0`), which a test driving a firmware process writes. Outputs (PWM,
pins, WDT, reset) are recorded in `EVENTS` and, with SITLESS_FAKE_ECHO set,
printed as `FAKE ...` lines the test reads from the process's output.
"""

import os

INPUTS = {}
EVENTS = []
_DIR = os.getenv("SITLESS_FAKE_DIR")
_ECHO = os.getenv("SITLESS_FAKE_ECHO")


def _input(name, default):
    if name in INPUTS:
        return INPUTS[name]
    if _DIR:
        try:
            with open(_DIR + "/" + name) as f:
                return int(f.read())
        except (OSError, ValueError):
            pass
    return default


def _event(*what):
    EVENTS.append(what)
    if len(EVENTS) > 200:
        del EVENTS[0]
    if _ECHO:
        print("FAKE", *what)


class Pin:
    IN = 1
    OUT = 3
    PULL_UP = 2
    IRQ_FALLING = 2
    IRQ_RISING = 1

    def __init__(self, number, mode=IN, pull=None, value=None):
        self.number = number
        self.mode = mode
        self.handler = None
        self._out = value or 0
        self.pull = pull

    def value(self, level=None):
        if level is None:
            if self.mode == Pin.OUT:
                return self._out
            return _input("pin%d" % self.number, 1 if self.pull == Pin.PULL_UP else 0)
        if level != self._out:
            _event("pin", self.number, level)
        self._out = level
        return None

    def __call__(self, level=None):
        return self.value(level)

    def irq(self, handler=None, trigger=None):
        self.handler = handler


class ADC:
    ATTN_11DB = 3

    def __init__(self, pin, atten=None):
        self.pin = pin
        self.atten = atten
        self.name = "adc%d" % pin.number  # built once, so a reading allocates nothing

    def read_uv(self):
        return _input(self.name, 0)


class PWM:
    def __init__(self, pin, freq=1000, duty_u16=0):
        self.pin = pin
        self._freq = freq
        self._duty = duty_u16

    def freq(self, hz=None):
        if hz is None:
            return self._freq
        self._freq = hz
        return None

    def duty_u16(self, duty=None):
        if duty is None:
            return self._duty
        if duty != self._duty:
            _event("pwm", self.pin.number, self._freq, duty)
        self._duty = duty
        return None


class WDT:
    def __init__(self, timeout=5000):
        self.timeout = timeout
        self.feeds = 0

    def feed(self):
        self.feeds += 1


def reset():
    _event("reset")
    raise SystemExit(0)


def unique_id():
    return b"\x24\x0a\xc4\x12\x34\x56"


def disable_irq():
    return 0


def enable_irq(state):
    pass


# The RTC's user memory (static on the board, so preallocated here) and how much of it is
# used: survives a reset, lost with the process.
_RTC_MEMORY = bytearray(2048)
_RTC_USED = [0]


class RTC:
    """RTC memory survives a reset (a new App in the same process, or, with SITLESS_FAKE_DIR,
    a new process: kept in the file `rtc`), as on the ESP32; a power cut clears it."""

    def memory(self, data=None):
        path = _DIR + "/rtc" if _DIR else None
        if data is None:
            if path:
                try:
                    with open(path, "rb") as f:
                        return f.read()
                except OSError:
                    return b""
            return bytes(_RTC_MEMORY[: _RTC_USED[0]])
        if len(data) > 2048:
            raise ValueError("RTC memory holds 2048 bytes")
        _RTC_MEMORY[: len(data)] = data
        _RTC_USED[0] = len(data)
        if path:
            with open(path, "wb") as f:
                f.write(data)
        return None
