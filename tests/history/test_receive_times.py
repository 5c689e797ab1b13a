"""History's one point per millisecond, applied to receive times (``hub.history.stamps``).

Real: ``ReceiveTimes`` and ``hub.history.points.to_ms``. Nothing is stood in.
"""

from __future__ import annotations

from hub.history.points import to_ms
from hub.history.stamps import PRUNE_EVERY, ReceiveTimes


def test_a_burst_on_one_topic_gets_one_millisecond_each_in_order():
    times = ReceiveTimes()
    got = [times.distinct("p/d1/occupancy", 1000.0) for _ in range(5)]
    assert got == sorted(got)
    assert len({to_ms(t) for t in got}) == 5
    # Another topic at the same moment is not held back by the first one's burst.
    assert times.distinct("p/d2/occupancy", 1000.0) == 1000.0


def test_a_later_message_keeps_its_own_time_and_a_prune_keeps_recent_topics():
    times = ReceiveTimes()
    assert times.distinct("p/d1/occupancy", 1000.0) == 1000.0
    assert times.distinct("p/d1/occupancy", 1001.0) == 1001.0
    for n in range(PRUNE_EVERY + 10):  # a prune happens on the way, at the same moment
        times.distinct(f"p/x{n}/status", 1001.0)
    # d1's last time is still within a millisecond: the next one still comes after it.
    assert to_ms(times.distinct("p/d1/occupancy", 1001.0)) > to_ms(1001.0)
