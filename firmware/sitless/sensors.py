"""The ADC sensor and the button; each takes its pins from the board, never importing `machine`.

Every sensor has `read(now_ms)`, returning an integer reading or None when
there is nothing new (an HX711 that has not finished converting). None of them
waits: the sampling task calls them on its own schedule. The HX711 and switch
drivers live in their own modules so a board loads only the one it uses.
"""

import asyncio

from sitless.compat import const, ticks_diff

_DEBOUNCE_MS = const(50)
_LONG_PRESS_MS = const(1500)
_BUTTON_POLL_MS = const(20)


class AdcSensor:
    """An FSR or velostat divider on an ADC1 pin at 11 dB, read in calibrated microvolts."""

    def __init__(self, adc):
        self.adc = adc

    def read(self, now_ms):
        return self.adc.read_uv()


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
            await asyncio.sleep_ms(_DEBOUNCE_MS)
            if self.pin.value():
                continue  # a bounce or a glitch, not a press
            start = self.ticks_ms()
            while not self.pin.value():
                await asyncio.sleep_ms(_BUTTON_POLL_MS)
            held = ticks_diff(self.ticks_ms(), start)
            self.on_press(held >= _LONG_PRESS_MS)
