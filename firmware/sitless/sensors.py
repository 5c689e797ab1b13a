"""The ADC sensor and the button; each takes its pins from the board, never importing `machine`.

Every sensor has `read(now_ms)`, returning an integer reading or None when
there is nothing new (an HX711 that has not finished converting). None of them
waits: the sampling task calls them on its own schedule. The HX711 and switch
drivers live in their own modules so a board loads only the one it uses.
"""

from sitless.compat import const, ticks_diff

_DEBOUNCE_MS = const(50)
_LONG_PRESS_MS = const(1500)


class AdcSensor:
    """An FSR or velostat divider on an ADC1 pin at 11 dB, read in calibrated microvolts."""

    def __init__(self, adc):
        self.adc = adc

    def read(self, now_ms):  # noqa: ARG002 - every sensor is read with the time
        return self.adc.read_uv()


class Button:
    """The snooze/meeting button (to ground, pull-up on), read by the app's sampling loop.

    No interrupt and no task of its own: `poll` reads the pin and times the
    press in ordinary code. A press counts once the pin has been seen low
    for 50 ms (shorter is a bounce or a glitch); it is reported when it ends,
    as long (True) from 1.5 s on, else short (False).
    """

    def __init__(self, pin):
        self.pin = pin
        self.down = None  # when the pin was first seen low, while it is held
        self._held = 0  # how long it has been seen low so far

    def poll(self, now_ms):
        """None, or True (long) / False (short) when a press has just ended."""
        if not self.pin.value():
            if self.down is None:
                self.down = now_ms
            self._held = ticks_diff(now_ms, self.down)
            return None
        if self.down is None:
            return None
        self.down = None
        return None if self._held < _DEBOUNCE_MS else self._held >= _LONG_PRESS_MS
