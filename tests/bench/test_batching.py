"""The hub's per-batch spool commit reaches the real store through the status page's tally.

The hub command wraps its ``History`` in ``TodayTally``; if the wrapper hid
``batch()``, every message would cost its own SQLite commit again (the
largest cost in the profile, see docs/performance.md). Real: the SQLite spool
and ``History``. Nothing is stood in.
"""

from __future__ import annotations

import time
from pathlib import Path

from hub import config
from hub.core.facts import OccupancyChanged
from hub.history import History
from hub.history.spool import Spool
from hub.history.today import TodayTally


def test_points_recorded_in_a_batch_are_spooled_together_when_it_ends(tmp_path: Path):
    """Real spool; nothing stood in."""
    cfg = config.from_mapping({"state_dir": str(tmp_path)})
    history = History(cfg)
    tally = TodayTally(history)
    tally.start()
    reader = Spool(cfg.state_path(cfg.history.spool), 1 << 30)
    try:
        now = time.time()
        with tally.batch():
            for seq in range(1, 4):
                tally.record(OccupancyChanged("d1", now + seq, seq % 2 == 1, seq, 1800.0))
            assert reader.size().rows == 0  # held until the batch ends
        assert reader.size().rows == 3
        tally.record(OccupancyChanged("d1", now + 10, True, 10, 1800.0))
        assert reader.size().rows == 4  # outside a batch, each record is spooled at once
    finally:
        reader.close()
        tally.close()
