"""History's one point per desk and millisecond, applied to receive times.

A point is stored at millisecond resolution, and two points of one series
at the same millisecond are one point (the later wins). A burst of a desk's
events without a device time (its clock not set yet) takes each event's
receive time, and a burst arrives in one read: without care they would share
a millisecond and all but one would be lost. ``ReceiveTimes`` keeps the
receive times of one topic at least a millisecond apart, in order.
"""

from __future__ import annotations

from typing import Final

STEP_S: Final = 0.00101  # one millisecond and a little, whatever the rounding
PRUNE_EVERY: Final = 4096  # calls between forgetting topics whose last time is long past


class ReceiveTimes:
    """Receive times made distinct per topic; the owner thread's alone."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}  # topic -> the time given to its latest message
        self._calls = 0

    def distinct(self, topic: str, received: float) -> float:
        """``received``, or a little after the topic's previous time if that was too close."""
        last = self._last.get(topic)
        stamp = received if last is None or last + STEP_S <= received else last + STEP_S
        self._last[topic] = stamp
        self._calls += 1
        if self._calls >= PRUNE_EVERY:
            self._calls = 0
            self._last = {t: s for t, s in self._last.items() if s + STEP_S > received}
        return stamp
