"""The durable local spool: every point lands here before any server sees it.

SQLite in WAL mode with ``synchronous = NORMAL``: a committed insert survives
the hub being killed (it is in the WAL the moment the commit returns), and a
commit costs no fsync, so recording stays cheap. Each thread opens its own
``Spool``; SQLite's locking keeps the hub's inserts and the writer's deletes
apart.

Two kinds of table, because the two jobs want different shapes:

* one send queue per target (``queue_1``, ``queue_2`` ..., named in
  ``targets``): just the line protocol and when it was spooled, keyed by an
  ever-growing rowid and without a secondary index. Reading the oldest rows
  is a range scan and forgetting them is a range delete, so draining a
  backlog costs little more than the POST itself. A point recorded twice is
  queued twice, in order: the server keeps the later values, since both copies
  carry the same series and time.
* ``points``, the local store used when no server is configured: the fields
  as JSON for ``sitless report``, indexed by time for reports and pruning,
  and unique by series and time so a replayed point replaces the older row.

Deletes from a queue only ever remove its oldest rows (the writer sends and
forgets in id order), so a queue's live ids form one unbroken run and its
length is ``max(id) - min(id) + 1``: two index seeks instead of a count.

The size cap is SQLite's own ``max_page_count``: beyond it an insert fails
with the same "database or disk is full" error as a full disk, so both cases
take one path, and freed pages are reused once the writer has drained rows.

The tables themselves, and the conversion of a file in an older format, are in
``hub.history.spool_layout``.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hub.history.points import HistoryPoint
from hub.history.spool_layout import (
    FORMAT_VERSION,
    MAX_TARGETS,
    SCHEMA,
    TARGET_BITS,
    Transaction,
    migrate,
    queue_slot,
    set_legacy_aside,
)

BUSY_TIMEOUT_MS: Final = 10_000
CACHE_KIB: Final = 16 * 1024
"""Page cache per connection: a 5 000-row batch and the pages its delete touches fit easily."""


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
    """One connection to the spool file.

    ``sends`` says whether this hub sends its points to a server. It only
    matters when the file still has the old single-table layout: its rows then
    move to the send queues (to be delivered) or, without a server, to the
    local store (to stay readable by reports).
    """

    def __init__(self, path: Path, max_bytes: int, *, sends: bool = False) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        if not path.exists():
            # Per-desk history is personal: only the hub's own user may read the file
            # (SQLite gives the -wal and -shm files the same mode).
            path.touch(mode=0o600)
        self._db = sqlite3.connect(
            path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
        )
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._slots: dict[str, int] = {}
        old = int(self._db.execute("PRAGMA user_version").fetchone()[0]) < FORMAT_VERSION
        if old:
            set_legacy_aside(self._db)
        self._db.executescript(SCHEMA)
        if old:
            migrate(self._db, path, sends=sends)
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        self._db.execute(f"PRAGMA max_page_count = {max(1, max_bytes // page_size)}")

    def close(self) -> None:
        """Fold the WAL back into the file and close."""
        # Another connection may be busy; the WAL is then replayed on the next open.
        with contextlib.suppress(sqlite3.Error):
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    def add(self, rows: Sequence[tuple[str, HistoryPoint]], now: float) -> None:
        """Queue points for sending in one transaction: durable when this returns, or none are."""
        by_slot: dict[int, list[tuple[str, float]]] = defaultdict(list)
        for target, point in rows:
            by_slot[self._slot(target)].append((point.line(), now))
        with Transaction(self._db):
            for slot, records in by_slot.items():
                self._db.executemany(
                    f"INSERT INTO queue_{slot} (line, spooled) VALUES (?, ?)",  # noqa: S608 - slot is an integer
                    records,
                )

    def keep(self, points: Sequence[HistoryPoint]) -> None:
        """Keep points in the local store in one transaction; a replayed point replaces its twin."""
        records = [
            (point.key(), point.measurement, point.desk, point.ts_ms, point.fields_json())
            for point in points
        ]
        with Transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO points (key, measurement, desk, ts_ms, fields) "
                "VALUES (?, ?, ?, ?, ?)",
                records,
            )

    def pending_targets(self) -> list[str]:
        """Targets that have rows waiting."""
        return sorted(
            name
            for name, slot in self._queues()
            if self._db.execute(f"SELECT 1 FROM queue_{slot} LIMIT 1").fetchone()  # noqa: S608 - slot is an integer
        )

    def batch(self, target: str, limit: int) -> list[tuple[int, str]]:
        """The oldest rows for a target, as (handle, line protocol); handles go to ``delete``."""
        slot = dict(self._queues()).get(target)
        if slot is None:
            return []
        found = self._db.execute(
            f"SELECT id, line FROM queue_{slot} ORDER BY id LIMIT ?",  # noqa: S608 - slot is an integer
            (limit,),
        ).fetchall()
        return [(int(row_id) << TARGET_BITS | slot, str(line)) for row_id, line in found]

    def delete(self, handles: Sequence[int]) -> None:
        """Forget rows the server has accepted."""
        with Transaction(self._db):
            self._delete(handles)

    def dead_letter(
        self, target: str, rows: Sequence[tuple[int, str]], status: int, reason: str, now: float
    ) -> None:
        """Move rows the server rejected as invalid out of the queue, keeping them for a person."""
        with Transaction(self._db):
            self._db.executemany(
                "INSERT INTO dead_letters (target, line, status, reason, at) "
                "VALUES (?, ?, ?, ?, ?)",
                [(target, line, status, reason, now) for _, line in rows],
            )
            self._delete([handle for handle, _ in rows])

    def dead_letters(self) -> list[tuple[str, str, int, str]]:
        """Every dead letter as (target, line, status, reason)."""
        found = self._db.execute(
            "SELECT target, line, status, reason FROM dead_letters ORDER BY id"
        ).fetchall()
        return [(str(a), str(b), int(c), str(d)) for a, b, c, d in found]

    def prune(self, before_ms: int) -> int:
        """Drop stored points older than the local retention; returns how many went."""
        with Transaction(self._db):
            cursor = self._db.execute("DELETE FROM points WHERE ts_ms < ?", (before_ms,))
        return int(cursor.rowcount)

    def size(self) -> SpoolSize:
        """Rows queued and stored, bytes in use (not free pages), oldest queued, dead letters."""
        rows = int(self._db.execute("SELECT COUNT(*) FROM points").fetchone()[0])
        oldest: float | None = None
        for _, slot in self._queues():
            # One statement, so one snapshot even while the writer deletes.
            head = self._db.execute(
                f"SELECT id, (SELECT MAX(id) FROM queue_{slot}), spooled "  # noqa: S608 - slot is an integer
                f"FROM queue_{slot} ORDER BY id LIMIT 1"
            ).fetchone()
            if head is None:
                continue
            rows += int(head[1]) - int(head[0]) + 1
            oldest = float(head[2]) if oldest is None else min(oldest, float(head[2]))
        dead = int(self._db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
        pages = int(self._db.execute("PRAGMA page_count").fetchone()[0])
        free = int(self._db.execute("PRAGMA freelist_count").fetchone()[0])
        page_size = int(self._db.execute("PRAGMA page_size").fetchone()[0])
        return SpoolSize(rows, (pages - free) * page_size, oldest, dead)

    def read(
        self, measurements: Sequence[str], start_ms: int, end_ms: int, desk: str | None = None
    ) -> Iterator[StoredPoint]:
        """Stored points of some measurements in [start, end), oldest first."""
        marks = ",".join("?" for _ in measurements)
        sql = (
            f"SELECT measurement, desk, ts_ms, fields FROM points "  # noqa: S608 - only placeholders are formatted in
            f"WHERE measurement IN ({marks}) AND ts_ms >= ? AND ts_ms < ?"
        )
        params: list[Any] = [*measurements, start_ms, end_ms]
        if desk is not None:
            sql += " AND desk = ?"
            params.append(desk)
        for row in self._db.execute(sql + " ORDER BY ts_ms, id", params):
            yield StoredPoint(
                str(row[0]),
                None if row[1] is None else str(row[1]),
                int(row[2]),
                json.loads(row[3]),
            )

    def _queues(self) -> list[tuple[str, int]]:
        """Every target that ever had a queue, as (name, slot); another connection may add one."""
        found = self._db.execute("SELECT name, slot FROM targets ORDER BY slot").fetchall()
        return [(str(name), int(slot)) for name, slot in found]

    def _slot(self, target: str) -> int:
        """The target's queue, created (in its own transaction) the first time it is used."""
        slot = self._slots.get(target)
        if slot is not None:
            return slot
        with Transaction(self._db):
            slot = queue_slot(self._db, target)
        self._slots[target] = slot
        return slot

    def _delete(self, handles: Sequence[int]) -> None:
        """Delete by runs of consecutive ids per queue: one range delete for a whole batch."""
        by_slot: dict[int, list[int]] = defaultdict(list)
        for handle in handles:
            by_slot[handle & MAX_TARGETS].append(handle >> TARGET_BITS)
        for slot, ids in by_slot.items():
            for first, last in _runs(sorted(ids)):
                self._db.execute(
                    f"DELETE FROM queue_{slot} WHERE id BETWEEN ? AND ?",  # noqa: S608 - slot is an integer
                    (first, last),
                )


def _runs(ids: Sequence[int]) -> Iterator[tuple[int, int]]:
    """Sorted ids as (first, last) runs of consecutive integers."""
    if not ids:
        return
    first = last = ids[0]
    for row_id in ids[1:]:
        if row_id != last + 1:
            yield first, last
            first = row_id
        last = row_id
    yield first, last
