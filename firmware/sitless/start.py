"""What runs once, at start: the board's parts from the config's pins, a boot id, the app's tasks.

`main.py` and `app` load this module for start-up only, and the app drops it
once its tasks run, so this code takes no RAM while the chair is in use. It
never imports `machine` itself: it uses the one `board` imported, and `board`
stays the one module that touches the hardware.
"""

import asyncio
import binascii
import json
import os
import time

from sitless.board import machine
from sitless.compat import const

_BUZZER_HZ = const(2000)
_WATCHDOG_MS = const(30_000)
_PRESS_WINDOW_MS = const(1000)  # after boot, with the LED lit: a press starting now counts
_SETUP_PRESS_MS = const(3000)  # held this long: setup mode


def safe_mode_requested(pin_number):
    """True while the safe-mode pin is held low at boot."""
    if pin_number is None:
        return False
    pin = machine.Pin(pin_number, machine.Pin.IN, machine.Pin.PULL_UP)
    return pin.value() == 0


def _pin_of(raw, key, default):
    pin = raw.get(key, default)
    return pin if isinstance(pin, int) and not isinstance(pin, bool) else None


def setup_wanted(path):
    """True when the chair should start its setup page (`sitless.setup`) instead of the app.

    That is a board without a config file, a WiFi config without a network
    name, or the button pressed within a second of boot (the LED is lit for
    that second) and held for three. A config that is no JSON goes on to the
    usual check, which names the problem on the console.
    """
    try:
        with open(path) as f:
            raw = json.loads(f.read())
    except OSError:
        return True
    except ValueError:
        raw = None
    if not isinstance(raw, dict):
        raw = {}  # the default pins for the press
    elif raw.get("transport", "wifi") == "wifi" and not raw.get("wifi_ssid"):
        return True
    button = _pin_of(raw, "button_pin", 0)
    if button is None:
        return False
    pin = machine.Pin(button, machine.Pin.IN, machine.Pin.PULL_UP)
    led = _pin_of(raw, "led_pin", 2)
    led = None if led is None else machine.Pin(led, machine.Pin.OUT, value=1)
    started = time.ticks_ms()
    pressed = None
    held = False
    while not held:  # four seconds at most
        now = time.ticks_ms()
        if pin.value() == 0:
            pressed = now if pressed is None else pressed
            held = time.ticks_diff(now, pressed) >= _SETUP_PRESS_MS
        elif time.ticks_diff(now, started) >= _PRESS_WINDOW_MS:
            break
        else:
            pressed = None
        time.sleep_ms(20)
    if led is not None:
        led.value(0)
    return held


def load_calib(path="calib.json"):
    """The saved calibration baseline (a dict), or None."""
    try:
        with open(path) as f:
            saved = json.loads(f.read())
        return saved if isinstance(saved, dict) else None
    except (OSError, ValueError):
        return None


def kept():
    """The sitting state `Board.keep` stored before a reset, or None (a power cut, or corrupt)."""
    import struct

    from sitless.board import MAGIC, STATE

    raw = machine.RTC().memory()
    size = struct.calcsize(STATE)
    if len(raw) != size + 8 or raw[:4] != MAGIC:
        return None
    data = raw[4 : 4 + size]
    if struct.unpack("<I", raw[4 + size :])[0] != binascii.crc32(data):
        return None
    return struct.unpack(STATE, data)


def restore(fallback, now_ms):
    """Take back the sitting state kept before a reset (times counted back from `now_ms`)."""
    saved = kept()
    if saved is None:
        return
    seated, fallback.reached, fallback.snoozes, fallback.next_ms, start, vacant, quiet = saved
    fallback.seated = seated == 1
    fallback.bout_start = None if start < 0 else time.ticks_add(now_ms, -start)
    fallback.vacant_since = None if vacant < 0 else time.ticks_add(now_ms, -vacant)
    fallback.quiet_until = None if quiet < 0 else time.ticks_add(now_ms, quiet)


def boot_id():
    """A fresh boot id: eight hex digits, new at every start."""
    return binascii.hexlify(os.urandom(4)).decode()


def tasks(self, watchdog):
    """Start every task of the app `self`; returns them (the tests cancel them).

    `watchdog` is fed by the health task: True starts the board's own.
    """
    from sitless import call, serial_link

    if watchdog is True:
        watchdog = machine.WDT(timeout=_WATCHDOG_MS)
    started = [
        asyncio.create_task(self._sampling(watchdog)),
        # Each host line is handled like a command: `commands.line`, loaded for it.
        asyncio.create_task(serial_link.listen(call, "commands", "line", self)),
    ]
    if self.client is None:  # the serial link
        serial_link.send("status", "online")
        serial_link.send("info", call("link", "info", self))
    else:
        started.append(asyncio.create_task(self._network()))
    return started


def sensor(cfg):
    kind = cfg["sensor"]
    if kind == "hx711":
        from sitless.hx711 import HX711

        data = machine.Pin(cfg["sensor_pin"], machine.Pin.IN)
        clock = machine.Pin(cfg["sensor_clk_pin"], machine.Pin.OUT)
        return HX711(data, clock, machine.disable_irq, machine.enable_irq)
    if kind == "switch":
        from sitless.switch import SwitchSensor

        return SwitchSensor(machine.Pin(cfg["sensor_pin"], machine.Pin.IN, machine.Pin.PULL_UP))
    from sitless.sensors import AdcSensor

    return AdcSensor(machine.ADC(machine.Pin(cfg["sensor_pin"]), atten=machine.ADC.ATTN_11DB))


def actuators(cfg):
    from sitless.actuators import Actuators

    led = buzzer = motor = None
    if cfg["led_pin"] is not None:
        led = machine.Pin(cfg["led_pin"], machine.Pin.OUT, value=0)
    if cfg["buzzer_pin"] is not None:
        buzzer = machine.PWM(machine.Pin(cfg["buzzer_pin"]), freq=_BUZZER_HZ, duty_u16=0)
    if cfg["motor_pin"] is not None:
        motor = machine.Pin(cfg["motor_pin"], machine.Pin.OUT, value=0)
    return Actuators(led, buzzer, motor)


def button(cfg):
    """The button, read by the sampling loop (no interrupt), or None."""
    if cfg["button_pin"] is None:
        return None
    from sitless.sensors import Button

    return Button(machine.Pin(cfg["button_pin"], machine.Pin.IN, machine.Pin.PULL_UP))
