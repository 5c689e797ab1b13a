"""A switch mat with a 50 ms contact debounce; the board passes its pin."""

from sitless.compat import const, ticks_diff

_DEBOUNCE_MS = const(50)
_CLOSED = const(1000)  # a closed switch reads like a full seat


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
        elif ticks_diff(now_ms, self._candidate_since) >= _DEBOUNCE_MS:
            self._stable = closed
            self._candidate = None
        return _CLOSED if self._stable else 0
