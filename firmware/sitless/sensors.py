"""Sensor drivers. Each takes its pins or ADC from the board and never imports `machine`.

Every sensor has `read(now_ms)`, returning an integer reading or None when
there is nothing new (an HX711 that has not finished converting). None of them
waits: the sampling task calls them on its own schedule.
"""

import asyncio

from sitless.compat import const, ticks_diff

SWITCH_DEBOUNCE_MS = const(50)
SWITCH_CLOSED = const(1000)  # a closed switch reads like a full seat
LONG_PRESS_MS = const(1500)
BUTTON_POLL_MS = const(20)


class AdcSensor:
    """An FSR or velostat divider on an ADC1 pin at 11 dB, read in calibrated microvolts."""

    def __init__(self, adc):
        self.adc = adc

    def read(self, now_ms):
        return self.adc.read_uv()


class HX711:
    """A load-cell amplifier, bit-banged on two pins, channel A at gain 128.

    `read` first checks data-ready (DOUT low) and returns None at once if the
    conversion is not done, so it never holds up the loop. `irq_off`/`irq_on`
    (the board's `disable_irq`/`enable_irq`) keep an interrupt from stretching
    a clock pulse past 60 µs, which would power the chip down.
    """

    def __init__(self, data, clock, irq_off=None, irq_on=None):
        self.data = data
        self.clock = clock
        self.irq_off = irq_off
        self.irq_on = irq_on
        clock.value(0)

    def ready(self):
        return self.data.value() == 0

    def read(self, now_ms):
        if self.data.value():
            return None
        data = self.data.value
        clock = self.clock.value
        state = self.irq_off() if self.irq_off else None
        value = 0
        for _ in range(24):
            clock(1)
            clock(0)
            value = (value << 1) | data()
        clock(1)  # a 25th pulse selects channel A, gain 128, for the next reading
        clock(0)
        if self.irq_on:
            self.irq_on(state)
        if value & 0x800000:
            value -= 0x1000000
        return value


class SwitchSensor:
    """A switch mat, closed to ground (the pin has its pull-up on), debounced for 50 ms."""

    def __init__(self, pin, active_low=True):
        self.pin = pin
        self.active_low = active_low
        self._stable = None
        self._candidate = None
        self._candidate_since = 0

    def read(self, now_ms):
        closed = (self.pin.value() == 0) == self.active_low
        if self._stable is None:
            self._stable = closed
        if closed == self._stable:
            self._candidate = None
        elif closed != self._candidate:
            self._candidate = closed
            self._candidate_since = now_ms
        elif ticks_diff(now_ms, self._candidate_since) >= SWITCH_DEBOUNCE_MS:
            self._stable = closed
            self._candidate = None
        return SWITCH_CLOSED if self._stable else 0


class Button:
    """The snooze/meeting button (to ground, pull-up on).

    The interrupt handler only sets a ThreadSafeFlag; the task then times the
    press in ordinary code and calls `on_press(long_press)`.
    """

    def __init__(self, pin, on_press, ticks_ms):
        self.pin = pin
        self.on_press = on_press
        self.ticks_ms = ticks_ms
        self.flag = asyncio.ThreadSafeFlag()

    def irq(self, _pin):
        self.flag.set()

    async def run(self):
        while True:
            await self.flag.wait()
            await asyncio.sleep_ms(SWITCH_DEBOUNCE_MS)
            if self.pin.value():
                continue  # a bounce or a glitch, not a press
            start = self.ticks_ms()
            while not self.pin.value():
                await asyncio.sleep_ms(BUTTON_POLL_MS)
            held = ticks_diff(self.ticks_ms(), start)
            self.on_press(held >= LONG_PRESS_MS)
