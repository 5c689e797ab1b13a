"""The signal path: median, moving average, hysteresis, then time debounce.

Pure and integer-only: one sample allocates nothing on the board, and the
caller passes the time (`now_ms`, a ticks value) so traces can be replayed
faster than real time, under MicroPython or CPython alike.
"""

from sitless.compat import const, ticks_diff

MEDIAN_N = const(5)
AVERAGE_N = const(4)


class Smoother:
    """Median of the last few raw readings, then a moving average of those medians.

    The median removes single-sample glitches (a bad HX711 read, ADC noise) that
    an average would smear over several samples; the average then steadies a
    seat that is shifted on.
    """

    def __init__(self):
        self._raw = [0] * MEDIAN_N
        self._scratch = [0] * MEDIAN_N
        self._medians = [0] * AVERAGE_N
        self._raw_at = 0
        self._median_at = 0
        self._sum = 0
        self._primed = False
        self.value = 0

    def reset(self, raw):
        """Fill both windows with one reading, so the first outputs are not dragged towards 0."""
        for i in range(MEDIAN_N):
            self._raw[i] = raw
        for i in range(AVERAGE_N):
            self._medians[i] = raw
        self._sum = raw * AVERAGE_N
        self._primed = True
        self.value = raw

    def add(self, raw):
        if not self._primed:
            self.reset(raw)
            return raw
        self._raw[self._raw_at] = raw
        self._raw_at = (self._raw_at + 1) % MEDIAN_N
        scratch = self._scratch
        for i in range(MEDIAN_N):
            scratch[i] = self._raw[i]
        scratch.sort()
        median = scratch[MEDIAN_N // 2]
        self._sum += median - self._medians[self._median_at]
        self._medians[self._median_at] = median
        self._median_at = (self._median_at + 1) % AVERAGE_N
        self.value = self._sum // AVERAGE_N
        return self.value


class Debouncer:
    """Hysteresis on the load, then a hold time before a change is believed.

    Above `upper` the seat looks taken, below `lower` it looks free, and in
    between it keeps its last look, so leaning back does not flap. A look must
    then hold for `seated_ms` (or `vacant_ms`) before `state` follows it, so a
    fidget or a brief lift never becomes a vacant event. `state` starts as
    None: the first settled look is reported too, so the hub learns the seat
    after every boot.
    """

    def __init__(self, seated_ms, vacant_ms):
        self.seated_ms = seated_ms
        self.vacant_ms = vacant_ms
        self.state = None
        self.looks_seated = False
        self._look_since = None

    def update(self, now_ms, load, upper, lower):
        """Feed one filtered load; True when `state` changed with this sample."""
        look = self.looks_seated
        if load >= upper:
            look = True
        elif load <= lower:
            look = False
        if look != self.looks_seated or self._look_since is None:
            self.looks_seated = look
            self._look_since = now_ms
        if look == self.state:
            return False
        hold = self.seated_ms if look else self.vacant_ms
        if ticks_diff(now_ms, self._look_since) >= hold:
            self.state = look
            return True
        return False
