"""Today's sitting per desk, tallied on the way to the history store.

Real: the fact types the service emits, the tally and the overlay source.
Stood in: the history store (a list that records what was forwarded) and the
hub (a StaticSource), because only the tally's arithmetic is under test.
"""

from __future__ import annotations

import datetime as dt

from hub.core.facts import AlertSent, BoutEnded, DeskSample
from hub.history.today import TodaySource, TodayTally
from hub.web import DeskView, StaticSource


class Recorder:
    def __init__(self):
        self.facts, self.samples, self.started, self.closed = [], [], False, False

    def record(self, fact):
        self.facts.append(fact)

    def sample(self, ts, samples):
        self.samples.append((ts, samples))

    def start(self):
        self.started = True

    def close(self):
        self.closed = True


def test_tally_counts_today_and_forwards_everything():
    now = dt.datetime.now(dt.UTC).timestamp()
    yesterday = now - 86400
    inner = Recorder()
    tally = TodayTally(inner)
    facts = [
        BoutEnded("d1", yesterday - 900, yesterday, "break", 1, 0, 1, 30.0),
        BoutEnded("d1", now - 3000, now - 1200, "break", 2, 1, 2, 40.0),
        BoutEnded("d1", now - 1000, now - 400, "break", 0, 0, 0, None),
        AlertSent("d1", now - 1500, 1, 1800.0),
        AlertSent("d1", now - 1300, 2, 2100.0),
    ]
    for fact in facts:
        tally.record(fact)
    tally.sample(now, [DeskSample("d1", now, True, 5.0, True)])
    tally.start()
    tally.close()
    assert inner.facts == facts
    assert len(inner.samples) == 1
    assert inner.started
    assert inner.closed

    day = tally.today("d1", now)
    assert day.bouts == 2
    assert day.seated_s == 1800 + 600
    assert day.longest_s == 1800
    assert day.alerts == 2
    assert tally.today("d2", now).bouts == 0

    source = StaticSource([DeskView("d1", "seated", seated_s=120.0), DeskView("d2", "vacant")])
    views = {v.desk: v for v in TodaySource(source, tally).snapshot()}
    assert views["d1"].today_seated_s == 1800 + 600 + 120
    assert views["d1"].today_bouts == 3
    assert views["d1"].today_alerts == 2
    assert views["d2"].today_seated_s == 0
    assert views["d2"].today_bouts == 0
