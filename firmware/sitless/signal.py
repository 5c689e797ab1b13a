"""The signal path: median, moving average, hysteresis, then time debounce.

Pure and integer-only: one sample allocates nothing on the board, and the
caller passes the time (`now_ms`, a ticks value) so traces can be replayed
faster than real time, under MicroPython or CPython alike.
"""

from sitless.compat import const, ticks_diff

_MEDIAN_N = const(5)
_AVERAGE_N = const(4)


class Smoother:
    """Median of the last few raw readings, then a moving average of those medians.

    The median removes single-sample glitches (a bad HX711 read, ADC noise) that
    an average would smear over several samples; the average then steadies a
    seat that is shifted on.
    """

    def __init__(self):
        # One list: the last raw readings, a copy of them to sort, then the last medians.
        self._window = [0] * (2 * _MEDIAN_N + _AVERAGE_N)
        self._raw_at = 0
        self._median_at = 0
        self._sum = 0
        self._primed = False
        self.median = 0
        self.value = 0

    def add(self, raw):
        window = self._window
        if not self._primed:
            # Fill both windows with the first reading, so the first outputs are not dragged
            # towards 0.
            for i in range(2 * _MEDIAN_N + _AVERAGE_N):
                window[i] = raw
            self._sum = raw * _AVERAGE_N
            self._primed = True
            self.median = raw
            self.value = raw
            return raw
        window[self._raw_at] = raw
        self._raw_at = (self._raw_at + 1) % _MEDIAN_N
        # Insertion sort of the copy, in place (`sort` would take the whole list).
        for i in range(_MEDIAN_N):
            item = window[i]
            j = _MEDIAN_N + i
            while j > _MEDIAN_N and window[j - 1] > item:
                window[j] = window[j - 1]
                j -= 1
            window[j] = item
        median = window[_MEDIAN_N + _MEDIAN_N // 2]
        self.median = median
        at = 2 * _MEDIAN_N + self._median_at
        self._sum += median - window[at]
        window[at] = median
        self._median_at = (self._median_at + 1) % _AVERAGE_N
        self.value = self._sum // _AVERAGE_N
        return self.value


def _side(load, was, upper, lower):
    """Hysteresis: at or above `upper` taken, at or below `lower` free, between as it was."""
    if load >= upper:
        return True
    if load <= lower:
        return False
    return was


class Debouncer:
    """Hysteresis on the load, then a hold time before a change is believed.

    Above `upper` the seat looks taken, below `lower` it looks free, and in
    between it keeps its last look, so leaning back does not flap. A change
    must then hold for `seated_ms` (or `vacant_ms`) before `state` follows it,
    so a fidget or a brief lift never becomes a vacant event. `state` starts
    as None: the first settled look is reported too, so the hub learns the
    seat after every boot.

    Three views of the load are fed in: the raw reading, the median (which no
    single-sample spike moves) and the smoothed value. The hold is counted
    from the raw reading that first crossed, once the median has confirmed it
    was no spike, so the filters' lag is not added on top of the hold; the
    median must stay across for the whole hold (a return resets it), and the
    raw reading and the smoothed value must agree when the change is
    reported, so a lift shorter than the hold is still no vacancy.
    """

    def __init__(self, seated_ms, vacant_ms):
        self.seated_ms = seated_ms
        self.vacant_ms = vacant_ms
        self.state = None
        self.looks_seated = False  # the smoothed value's side
        self._raw = False
        self._raw_since = None  # when the raw reading crossed to its side
        self._median = False
        # When the median's side began, backdated to the raw crossing: once a change is
        # reported, the time of the first sample that crossed (the transition's own time).
        self.since = None

    def update(self, now_ms, raw, median, smoothed, upper, lower):
        """Feed one sample's loads; True when `state` changed with this sample."""
        look = _side(raw, self._raw, upper, lower)
        if look != self._raw or self._raw_since is None:
            self._raw = look
            self._raw_since = now_ms
        look = _side(median, self._median, upper, lower)
        if look != self._median or self.since is None:
            self._median = look
            self.since = self._raw_since if look == self._raw else now_ms
        self.looks_seated = _side(smoothed, self.looks_seated, upper, lower)
        if look == self.state or look != self._raw or look != self.looks_seated:
            return False
        hold = self.seated_ms if look else self.vacant_ms
        if ticks_diff(now_ms, self.since) >= hold:
            self.state = look
            return True
        return False
