"""The spool names every target that has rows waiting, found by index seeks.

``pending_targets`` runs once per batch while a backlog drains, so it seeks
the index once per target instead of scanning it (docs/performance.md).
Real: the SQLite spool. Nothing is stood in.
"""

from __future__ import annotations

import time
from pathlib import Path

from hub.history.points import OCCUPANCY, HistoryPoint
from hub.history.spool import Spool


def one_point(desk: str, ts_ms: int) -> HistoryPoint:
    return HistoryPoint(OCCUPANCY, (("desk", desk),), (("seated", 1),), ts_ms)


def test_pending_targets_lists_each_waiting_target_once(tmp_path: Path):
    """Real spool; nothing stood in."""
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 30)
    try:
        assert spool.pending_targets() == []
        rows = [
            (target, one_point(f"d{i}", 1000 + i))
            for i in range(50)
            for target in ("personal", "main", "zone")
        ]
        spool.add(rows, time.time())
        assert spool.pending_targets() == ["main", "personal", "zone"]
        spool.delete([row_id for row_id, _ in spool.batch("personal", 100)])
        assert spool.pending_targets() == ["main", "zone"]
    finally:
        spool.close()
