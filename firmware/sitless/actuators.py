"""The LED, the buzzer (PWM) and an optional vibration motor, played as patterns.

A pattern is a bytes string of 3-byte steps: how long in tens of
milliseconds, what is on (1 the LED, 2 the motor) and the buzzer's pitch in
hundreds of hertz (0 is silence), played over and over. Bytes, not tuples of
tuples, because each small tuple would take a heap block of its own. The
app's sampling loop starts each step when it is due (`play`), so an alert
never blocks sampling or networking and needs no task of its own.
"""

from time import ticks_add, ticks_diff

from sitless.compat import const

_QUIET_DUTY = const(6000)  # level 2: a gentle buzz
_LOUD_DUTY = const(32768)  # level 3 and identify
_LED = const(1)
_MOTOR = const(2)
_IDLE_MS = const(3_600_000)  # nothing to play: the next look is when the pattern changes

# level 1: the LED on
# level 2: two gentle 120 ms beeps with the motor, then quiet for 9.64 s (four steps of 2.41 s)
# level 3: three urgent 150 ms beeps with the motor, 100 ms apart, then 1.35 s dark
PATTERNS = (
    b"",
    b"\x64\x01\x00",
    b"\x0c\x03\x14\x0c\x01\x00\x0c\x03\x14\xf1\x01\x00\xf1\x01\x00\xf1\x01\x00\xf1\x01\x00",
    b"\x0f\x03\x1e\x0a\x00\x00\x0f\x03\x1e\x0a\x00\x00\x0f\x03\x1e\x87\x00\x00",
)


class Actuators:
    """The outputs, each optional (None when the config gives no pin)."""

    def __init__(self, led=None, buzzer=None, motor=None):
        self.led = led
        self.buzzer = buzzer
        self.motor = motor
        self.level = 0
        self._pattern = b""
        self.once = None  # a pattern played once, then the alert again (`identify`, a command)
        self._at = 0  # the next step's offset in the pattern playing
        self._due = None  # when that step starts (a ticks value); None: at once
        self._output(0, 0)

    def alert(self, level):
        """Show alert level 0 (none) to 3, from its first step."""
        self.level = level
        self._pattern = PATTERNS[level]
        self._at = 0
        self._due = None

    def _output(self, on, hz):
        if self.led is not None:
            self.led.value(on & _LED)
        if self.buzzer is not None:
            if hz:
                self.buzzer.freq(hz)
                self.buzzer.duty_u16(_QUIET_DUTY if self.level == 2 else _LOUD_DUTY)
            else:
                self.buzzer.duty_u16(0)
        if self.motor is not None:
            self.motor.value(1 if on & _MOTOR else 0)

    def play(self, now_ms):
        """Start the next step when it is due; returns the milliseconds until the one after."""
        if self._due is not None and ticks_diff(self._due, now_ms) > 0:
            return ticks_diff(self._due, now_ms)
        pattern = self.once or self._pattern
        at = self._at
        if at >= len(pattern):  # over: the pattern again, or the alert after the one-off
            self.once = None
            pattern = self._pattern
            at = 0
        if not pattern:
            self._output(0, 0)
            self._due = ticks_add(now_ms, _IDLE_MS)
            return _IDLE_MS
        self._output(pattern[at + 1], pattern[at + 2] * 100)
        self._at = at + 3
        self._due = ticks_add(now_ms, pattern[at] * 10)
        return pattern[at] * 10
