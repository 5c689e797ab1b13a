"""The spool's send queues and local store, and spools left by the old single-table layout.

Real: the SQLite spool on disk, influxd (InfluxDB 1.x) for the upgraded
backlog, ``History`` and its writer thread. Stood in: the hub core (points
and facts are made directly); the old layout is written with its own SQL, as
the hub of before left it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from hub.core.facts import OccupancyChanged
from hub.history.points import OCCUPANCY, SITTING_BOUT, HistoryPoint
from hub.history.spool import Spool
from hub.history.spool_layout import FORMAT_VERSION
from tests.history.helpers import make_cfg, wait_drained

T0_MS = 1_772_000_000_000
OLD_LAYOUT = """
CREATE TABLE points (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, key TEXT NOT NULL,
    measurement TEXT NOT NULL, desk TEXT, ts_ms INTEGER NOT NULL, fields TEXT NOT NULL,
    line TEXT NOT NULL, spooled REAL NOT NULL, UNIQUE (target, key));
CREATE INDEX points_by_target ON points (target, id);
CREATE INDEX points_by_time ON points (ts_ms);
CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, line TEXT NOT NULL,
    status INTEGER NOT NULL, reason TEXT NOT NULL, at REAL NOT NULL);
"""


def seat(desk: str, seq: int, ts_ms: int = T0_MS) -> HistoryPoint:
    return HistoryPoint(
        OCCUPANCY, (("desk", desk),), (("seated", seq % 2), ("seq", seq)), ts_ms + seq
    )


def old_spool(path: Path, points: list[tuple[str, HistoryPoint]]) -> None:
    """A spool as the single-table layout wrote it, with one dead letter."""
    db = sqlite3.connect(path)
    db.executescript(OLD_LAYOUT)
    db.executemany(
        "INSERT INTO points (target, key, measurement, desk, ts_ms, fields, line, spooled) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (target, p.key(), p.measurement, p.desk, p.ts_ms, p.fields_json(), p.line(), 1.0)
            for target, p in points
        ],
    )
    db.execute(
        "INSERT INTO dead_letters (target, line, status, reason, at) "
        "VALUES ('main', 'bad line', 400, 'HTTP 400: nope', 1.0)"
    )
    db.commit()
    db.close()


def layout(path: Path) -> tuple[int, set[str]]:
    db = sqlite3.connect(path)
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        found = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        tables = {str(row[0]) for row in found}
    finally:
        db.close()
    return version, tables


def test_queues_are_per_target_and_deletes_forget_exactly_the_rows_given(tmp_path):
    """Real spool; nothing stood in."""
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 30)
    try:
        spool.add(
            [
                (target, seat(f"{target}-d", i))
                for i in range(10)
                for target in ("main", "personal")
            ],
            100.0,
        )
        spool.add([("main", seat("late", 1))], 200.0)
        main = spool.batch("main", 100)
        assert [line.split(",")[1].split(" ")[0] for _, line in main] == (
            ["desk=main-d"] * 10 + ["desk=late"]
        )
        size = spool.size()
        assert (size.rows, size.oldest_spooled) == (21, 100.0)
        # The writer's bisection forgets pieces of a batch; each goes, nothing else does.
        spool.delete([handle for handle, _ in main[:3]])
        spool.dead_letter("main", main[3:5], 400, "HTTP 400: bad", 1.0)
        assert spool.batch("main", 100) == main[5:]
        assert len(spool.batch("personal", 100)) == 10
        assert spool.size().rows == 16
        assert [line for _, line, _, _ in spool.dead_letters()] == [line for _, line in main[3:5]]
        spool.delete([handle for handle, _ in main[5:]])
        assert spool.pending_targets() == ["personal"]
        assert spool.size().rows == 10
    finally:
        spool.close()


def test_a_point_queued_twice_is_sent_twice_in_order_so_the_later_values_win(tmp_path):
    """Real spool; nothing stood in. Same series and time: InfluxDB keeps the last write."""
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 30)
    try:
        first = HistoryPoint(OCCUPANCY, (("desk", "d1"),), (("seated", 1), ("seq", 1)), T0_MS)
        again = HistoryPoint(OCCUPANCY, (("desk", "d1"),), (("seated", 0), ("seq", 1)), T0_MS)
        spool.add([("main", first)], 1.0)
        spool.add([("main", again)], 2.0)
        assert [line for _, line in spool.batch("main", 10)] == [first.line(), again.line()]
    finally:
        spool.close()


def test_an_old_backlog_is_converted_and_delivered_exactly(influxd, tmp_path, open_history):
    influxd.create_database("upgraded")
    path = tmp_path / "sitless-spool.sqlite3"
    backlog = [("main", seat(f"d{i % 7}", i)) for i in range(12_000)]
    old_spool(path, backlog)
    cfg = make_cfg(tmp_path, api="v1", url=influxd.url, database="upgraded")
    history = open_history(cfg)
    stats = wait_drained(history)
    assert stats["written"] == 12_000
    assert stats["dead_letters"] == 1  # kept for a person, as before
    [[count]] = [
        [r["count"]] for r in influxd.rows('SELECT count("seq") FROM "occupancy"', "upgraded")
    ]
    assert count == 12_000
    assert layout(path) == (
        FORMAT_VERSION,
        {"targets", "queue_1", "points", "dead_letters", "sqlite_sequence"},
    )
    db = sqlite3.connect(path)
    try:  # the backlog went to the send queue, not to the local store
        assert db.execute("SELECT COUNT(*) FROM points").fetchone()[0] == 0
    finally:
        db.close()


def test_an_old_local_store_stays_readable_by_reports(tmp_path, open_history):
    path = tmp_path / "sitless-spool.sqlite3"
    now_ms = int(time.time() * 1000)
    bout = HistoryPoint(
        SITTING_BOUT,
        (("desk", "d1"), ("ended_by", "break")),
        (("duration_s", 1500.0), ("alerts", 1)),
        now_ms - 5000,
    )
    old_spool(path, [("main", bout), *[("main", seat("d1", i, now_ms - 60_000)) for i in range(5)]])
    # A report may open the file before the hub does; it converts it the same way.
    reader = Spool(path, 1 << 30)
    reader.close()
    history = open_history(make_cfg(tmp_path))
    assert history.stats()["spool_rows"] == 6
    [stored] = list(history._require_spool().read([SITTING_BOUT], 0, 2**62))
    assert (stored.desk, stored.fields) == ("d1", {"duration_s": 1500.0, "alerts": 1})
    # New records land beside the converted ones, and a replay still replaces.
    fact = OccupancyChanged("d1", now_ms / 1000, True, 99, 1.0)
    history.record(fact)
    history.record(fact)
    assert history.stats()["spool_rows"] == 7
    assert layout(path) == (
        FORMAT_VERSION,
        {"targets", "points", "dead_letters", "sqlite_sequence"},
    )
