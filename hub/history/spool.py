"""The durable local spool: every point lands here before any server sees it.

SQLite in WAL mode with ``synchronous = NORMAL``: a committed insert survives
the hub being killed (it is in the WAL the moment the commit returns), and a
commit costs no fsync, so recording stays cheap. Each thread opens its own
``Spool``; SQLite's locking keeps the hub's inserts and the writer's deletes
apart.

Ids only ever grow (AUTOINCREMENT), and a point recorded again with the same
series and time replaces the older row under a new id. The writer deletes
exactly the ids it sent, so a point replaced while its older copy was in
flight is still sent afterwards, and the server keeps the newer values.

The size cap is SQLite's own ``max_page_count``: beyond it an insert fails
with the same "database or disk is full" error as a full disk, so both cases
take one path, and freed pages are reused once the writer has drained rows.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hub.history.points import HistoryPoint

BUSY_TIMEOUT_MS: Final = 10_000
_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    key TEXT NOT NULL,
    measurement TEXT NOT NULL,
    desk TEXT,
    ts_ms INTEGER NOT NULL,
    fields TEXT NOT NULL,
    line TEXT NOT NULL,
    spooled REAL NOT NULL,
    UNIQUE (target, key)
);
CREATE INDEX IF NOT EXISTS points_by_target ON points (target, id);
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


def is_full(exc: BaseException) -> bool:
    """Whether an SQLite error means the disk or the spool cap is full."""
    return isinstance(exc, sqlite3.Error) and "full" in str(exc).lower()


@dataclass(frozen=True, slots=True)
class SpoolSize:
    """How much waits in the spool."""

    rows: int
    bytes: int
    oldest_spooled: float | None
    dead_letters: int


@dataclass(frozen=True, slots=True)
class StoredPoint:
    """A point read back from the local store, for reports."""

    measurement: str
    desk: str | None
    ts_ms: int
    fields: dict[str, Any]


class Spool:
    """One connection to the spool file."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        if not path.exists():
            # Per-desk history is personal: only the hub's own user may read the file
            # (SQLite gives the -wal and -shm files the same mode).
            path.touch(mode=0o600)
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                   check_same_thread=False)
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.executescript(_SCHEMA)
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._db.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page_size)}")

    def close(self) -> None:
        """Fold the WAL back into the file and close."""
        # Another connection may be busy; the WAL is then replayed on the next open.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def add(self, rows: Sequence[tuple[str, HistoryPoint]], now: float) -> None:
        """Insert in one transaction: all rows are durable when this returns, or none are."""
        records = [
            (target, point.key(), point.measurement, point.desk, point.ts_ms,
             point.fields_json(), point.line(), now)
            for target, point in rows
        ]
        with self._transaction():
            self._db.executemany(
                "INSERT OR REPLACE INTO points "
                "(target, key, measurement, desk, ts_ms, fields, line, spooled) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                records,
            )

    def pending_targets(self) -> list[str]:
        """Targets that have rows waiting."""
        # One index seek per target instead of DISTINCT's scan of the whole index,
        # which cost tens of milliseconds per batch while a large backlog drained.
        found = self._db.execute(
            "WITH RECURSIVE t(v) AS (SELECT MIN(target) FROM points UNION ALL "
            "SELECT (SELECT MIN(target) FROM points WHERE target > v) FROM t WHERE v IS NOT NULL) "
            "SELECT v FROM t WHERE v IS NOT NULL").fetchall()
        return sorted(str(row[0]) for row in found)

    def batch(self, target: str, limit: int) -> list[tuple[int, str]]:
        """The oldest rows for a target, as (id, line protocol)."""
        found = self._db.execute(
            "SELECT id, line FROM points WHERE target = ? ORDER BY id LIMIT ?", (target, limit)
        ).fetchall()
        return [(int(row[0]), str(row[1])) for row in found]

    def delete(self, ids: Sequence[int]) -> None:
        """Forget rows the server has accepted."""
        with self._transaction():
            self._db.executemany("DELETE FROM points WHERE id = ?", [(i,) for i in ids])

    def dead_letter(self, target: str, rows: Sequence[tuple[int, str]], status: int,
                    reason: str, now: float) -> None:
        """Move rows the server rejected as invalid out of the queue, keeping them for a person."""
        with self._transaction():
            self._db.executemany(
                "INSERT INTO dead_letters (target, line, status, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(target, line, status, reason, now) for _, line in rows],
            )
            self._db.executemany("DELETE FROM points WHERE id = ?", [(i,) for i, _ in rows])

    def dead_letters(self) -> list[tuple[str, str, int, str]]:
        """Every dead letter as (target, line, status, reason)."""
        found = self._db.execute(
            "SELECT target, line, status, reason FROM dead_letters ORDER BY id").fetchall()
        return [(str(a), str(b), int(c), str(d)) for a, b, c, d in found]

    def prune(self, before_ms: int) -> int:
        """Drop points older than the local retention; returns how many went."""
        with self._transaction():
            cursor = self._db.execute("DELETE FROM points WHERE ts_ms < ?", (before_ms,))
        return int(cursor.rowcount)

    def size(self) -> SpoolSize:
        """Rows, bytes in use (free pages not counted), oldest spool time, dead letters."""
        rows = int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
        oldest = self._db.execute("SELECT spooled FROM points ORDER BY id LIMIT 1").fetchone()
        dead = int(self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        return SpoolSize(rows, (pages - free) * page_size,
                         None if oldest is None else float(oldest[0]), dead)

    def read(self, measurements: Sequence[str], start_ms: int, end_ms: int,
             desk: str | None = None) -> Iterator[StoredPoint]:
        """Stored points of some measurements in [start, end), oldest first."""
        marks = ",".join("?" for _ in measurements)
        sql = (f"SELECT measurement, desk, ts_ms, fields FROM points "  # noqa: S608 - only placeholders are formatted in
               f"WHERE measurement IN ({marks}) AND ts_ms >= ? AND ts_ms < ?")
        params: list[Any] = [*measurements, start_ms, end_ms]
        if desk is not None:
            sql += " AND desk = ?"
            params.append(desk)
        for row in self._db.execute(sql + " ORDER BY ts_ms, id", params):
            yield StoredPoint(str(row[0]), None if row[1] is None else str(row[1]), int(row[2]),
                              json.loads(row[3]))

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
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
