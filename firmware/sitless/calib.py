"""Two-point calibration with a drifting empty-seat baseline.

`empty` and `occupied` are the two calibration readings (written by
`sitless calibrate`); the thresholds sit between them, 60 % of the span up to
become seated and 40 % to become vacant. The baseline starts at `empty` and
then follows slow drift (temperature, a foam pad settling) while the seat is
vacant and below the lower threshold; a tare sets it at once, and is refused
while someone sits. Readings far outside the calibrated range are spikes and
are rejected, unless they persist (then the world changed, not the reading).
The baseline is saved to its own file so it survives a reboot without ever
being taken at boot, when someone may be sitting.
"""

from sitless.compat import const

_UPPER_PERCENT = const(60)
_LOWER_PERCENT = const(40)
_SPIKE_SPANS = const(4)
_SPIKE_PATIENCE = const(200)  # consecutive out-of-range samples (10 s at 50 ms) before they count
_TRACK_SHIFT = const(10)  # baseline moves 1/1024 of the gap per vacant sample (about 50 s)


class Calibration:
    """Two points (empty and occupied), the drifting baseline, the thresholds between."""

    def __init__(self, empty, occupied, baseline=None):
        self.rejected = 0
        self._out_of_range = 0
        self.set_points(empty, occupied, baseline)

    def set_points(self, empty, occupied, baseline=None):
        if empty == occupied:
            occupied = empty + 1
        self.empty = empty
        self.occupied = occupied
        self.sign = 1 if occupied > empty else -1
        self.span = (occupied - empty) * self.sign
        self.upper = self.span * _UPPER_PERCENT // 100
        self.lower = self.span * _LOWER_PERCENT // 100
        self.baseline = empty if baseline is None else baseline
        self.saved_baseline = self.baseline  # as last written to the calibration file

    def load(self, value):
        """How far a reading is above the empty seat, in the sensor's units."""
        return (value - self.baseline) * self.sign

    def accept(self, raw):
        """False for a spike: a reading far outside the calibrated range."""
        gap = raw - self.baseline
        if gap < 0:
            gap = -gap
        if gap <= _SPIKE_SPANS * self.span:
            self._out_of_range = 0
            return True
        self._out_of_range += 1
        if self._out_of_range > _SPIKE_PATIENCE:
            return True
        self.rejected += 1
        return False

    def track(self, value, vacant):
        """Follow slow drift while the seat is vacant and below the lower threshold."""
        if not vacant or self.load(value) > self.lower:
            return
        gap = value - self.baseline
        step = gap >> _TRACK_SHIFT
        if step == 0 and gap:
            step = 1 if gap > 0 else -1
        self.baseline += step

    def tare(self, value, seated):
        """Take `value` as the empty seat; refused (False) while someone sits."""
        if seated:
            return False
        self.baseline = value
        return True
