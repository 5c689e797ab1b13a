"""The spool file's layout: its tables, its format version, and the move from the old one.

``hub.history.spool.Spool`` works on this layout; what each table is for is in
that module's docstring. A file of an older format (0: one table, also named
``points``) is converted on open: the old table is set aside, then its rows
move a chunk at a time to the send queues or the local store.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from typing import TYPE_CHECKING, Final

from hub.errors import HistoryError

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

FORMAT_VERSION: Final = 2
"""``PRAGMA user_version`` of this layout; 0 is the one table of before, also named ``points``."""
MIGRATE_CHUNK: Final = 5000
LEGACY_TABLE: Final = "points_format0"
TARGET_BITS: Final = 6
"""A handle is ``rowid << TARGET_BITS | slot``, so one integer names the row and its queue."""
MAX_TARGETS: Final = (1 << TARGET_BITS) - 1

SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS targets (
    slot INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    measurement TEXT NOT NULL,
    desk TEXT,
    ts_ms INTEGER NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS points_by_time ON points (ts_ms);
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    line TEXT NOT NULL,
    status INTEGER NOT NULL,
    reason TEXT NOT NULL,
    at REAL NOT NULL
);
"""
QUEUE: Final = """
CREATE TABLE IF NOT EXISTS queue_{slot} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    line TEXT NOT NULL,
    spooled REAL NOT NULL
)
"""


def queue_slot(db: sqlite3.Connection, target: str) -> int:
    """The target's slot, registering it and creating its queue; call inside a transaction."""
    db.execute("INSERT OR IGNORE INTO targets (name) VALUES (?)", (target,))
    slot = int(db.execute("SELECT slot FROM targets WHERE name = ?", (target,)).fetchone()[0])
    if slot > MAX_TARGETS:
        msg = f"the spool holds at most {MAX_TARGETS} targets; {target!r} is one too many"
        raise HistoryError(msg)
    db.execute(QUEUE.format(slot=slot))
    return slot


def set_legacy_aside(db: sqlite3.Connection) -> None:
    """Rename the old single table out of the way of the new ``points`` (the local store).

    Its secondary indexes go first: they made every delete three times
    dearer, and one of them has the name the new layout uses.
    """
    with Transaction(db):
        columns = {str(row[1]) for row in db.execute("PRAGMA table_info(points)")}
        if "line" in columns:
            db.execute("DROP INDEX IF EXISTS points_by_target")
            db.execute("DROP INDEX IF EXISTS points_by_time")
            db.execute(f"ALTER TABLE points RENAME TO {LEGACY_TABLE}")


def migrate(db: sqlite3.Connection, path: Path, *, sends: bool) -> None:
    """Move the rows of an old single-table spool (format 0) into this layout.

    Rows move a chunk per transaction, oldest first, so an interrupted
    conversion resumes where it stopped and the file grows by one chunk at
    most (the cap is applied only afterwards).
    """
    moved = 0
    while True:
        with Transaction(db):
            legacy = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LEGACY_TABLE,)
            ).fetchone()
            rows = (
                []
                if legacy is None
                else db.execute(
                    "SELECT id, target, key, measurement, desk, ts_ms, fields, line, spooled "  # noqa: S608 - a constant name
                    f"FROM {LEGACY_TABLE} ORDER BY id LIMIT ?",
                    (MIGRATE_CHUNK,),
                ).fetchall()
            )
            if not rows:
                db.execute(f"DROP TABLE IF EXISTS {LEGACY_TABLE}")
                db.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
                break
            if sends:
                by_slot: dict[int, list[tuple[str, float]]] = defaultdict(list)
                for row in rows:
                    by_slot[queue_slot(db, str(row[1]))].append((row[7], row[8]))
                for slot, records in by_slot.items():
                    db.executemany(
                        f"INSERT INTO queue_{slot} (line, spooled) VALUES (?, ?)",  # noqa: S608 - slot is an integer
                        records,
                    )
            else:
                db.executemany(
                    "INSERT OR REPLACE INTO points (key, measurement, desk, ts_ms, fields) "
                    "VALUES (?, ?, ?, ?, ?)",
                    [row[2:7] for row in rows],
                )
            db.execute(
                f"DELETE FROM {LEGACY_TABLE} WHERE id BETWEEN ? AND ?",  # noqa: S608 - a constant name
                (rows[0][0], rows[-1][0]),
            )
            moved += len(rows)
    if moved:
        logger.warning(
            "history spool %s converted to format %d: %d points moved to the %s",
            path,
            FORMAT_VERSION,
            moved,
            "send queues" if sends else "local store",
        )


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any error so the connection stays usable."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error:
                self._rollback()
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")
