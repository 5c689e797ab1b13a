"""The LED, the buzzer (PWM) and an optional vibration motor, played as patterns.

A pattern is a tuple of steps `(ms, led, buzz_hz, motor)` played over and
over; `buzz_hz` 0 is silence. One task plays whatever pattern is current and
is woken when it changes, so an alert never blocks sampling or networking.
"""

import asyncio

from sitless.compat import const

QUIET_DUTY = const(6000)  # level 2: a gentle buzz
LOUD_DUTY = const(32768)  # level 3 and identify

OFF = ()
LEVEL_1 = ((1000, 1, 0, 0),)
LEVEL_2 = ((120, 1, 2000, 1), (120, 1, 0, 0), (120, 1, 2000, 1), (9640, 1, 0, 0))
LEVEL_3 = ((150, 1, 3000, 1), (100, 0, 0, 0), (150, 1, 3000, 1), (100, 0, 0, 0),
           (150, 1, 3000, 1), (1350, 0, 0, 0))
IDENTIFY = ((150, 1, 2500, 0), (150, 0, 0, 0), (150, 1, 0, 0), (150, 0, 0, 0),
            (150, 1, 2500, 0), (150, 0, 0, 0))
PATTERNS = (OFF, LEVEL_1, LEVEL_2, LEVEL_3)


class Actuators:
    def __init__(self, led=None, buzzer=None, motor=None):
        self.led = led
        self.buzzer = buzzer
        self.motor = motor
        self.level = 0
        self._pattern = OFF
        self._once = None
        self._changed = asyncio.Event()
        self._output(0, 0, 0)

    def alert(self, level):
        """Show alert level 0 (none) to 3."""
        self.level = level
        self._pattern = PATTERNS[level]
        self._changed.set()

    def identify(self):
        """Blink and chirp once, then return to the current alert."""
        self._once = IDENTIFY
        self._changed.set()

    def _output(self, led, hz, motor):
        if self.led is not None:
            self.led.value(led)
        if self.buzzer is not None:
            if hz:
                self.buzzer.freq(hz)
                self.buzzer.duty_u16(QUIET_DUTY if self.level == 2 else LOUD_DUTY)
            else:
                self.buzzer.duty_u16(0)
        if self.motor is not None:
            self.motor.value(motor)

    async def run(self):
        while True:
            self._changed.clear()
            pattern = self._once or self._pattern
            self._once = None
            if not pattern:
                self._output(0, 0, 0)
                await self._changed.wait()
                continue
            for ms, led, hz, motor in pattern:
                self._output(led, hz, motor)
                try:
                    await asyncio.wait_for_ms(self._changed.wait(), ms)
                    break  # a new pattern: start it now, not after this step
                except asyncio.TimeoutError:
                    pass
