"""Each desk's bout saved in SQLite, so a restarted hub carries on instead of starting over.

One row per desk holds the state machine's snapshot and the last ``(boot,
seq)`` seen, written in the same transaction, so after a crash the hub neither
forgets a bout nor treats a message it already applied as new (the broker
redelivers what it had not seen acknowledged). The file sits in ``state_dir``
next to the history spool. WAL mode keeps writes cheap.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from hub.errors import SitlessError

logger = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS desk_state (
    desk TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    boot TEXT,
    seq INTEGER,
    updated REAL NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class Saved:
    """What the checkpoint holds for one desk."""

    state: dict[str, Any]
    boot: str | None
    seq: int | None
    updated: float = 0.0


def _decode(text: str) -> dict[str, Any] | None:
    """A row's state; None when it is not a JSON object.

    orjson first (several times faster); the standard decoder for a row it
    refuses, such as one holding ``NaN`` or ``Infinity``, which orjson never writes.
    """
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        try:
            data = json.loads(text)
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


class Checkpoint:
    """The checkpoint file. Used only from the thread that owns desk state."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute(SCHEMA)
        except sqlite3.Error as exc:
            raise SitlessError(f"cannot open checkpoint {self.path}: {exc}") from exc

    def load(self) -> dict[str, Saved]:
        """Every desk's saved state; a row that cannot be read is skipped with a warning."""
        return {
            desk: Saved(state, boot, seq, updated)
            for desk, state, boot, seq, updated in self.rows()
        }

    def rows(self) -> Iterator[tuple[str, dict[str, Any], str | None, int | None, float]]:
        """Every readable row as (desk, state, boot, seq, updated), from one query.

        What a hub restores at start: at 100 000 desks the per-row work is what
        counts, so each row is one tuple and one orjson decode. A row that
        cannot be read is skipped with a warning.
        """
        for desk, text, boot, seq, updated in self._db.execute(
            "SELECT desk, state, boot, seq, updated FROM desk_state"
        ):
            state = _decode(text)
            if state is None:
                logger.warning("checkpoint row for desk %s is unreadable; starting it fresh", desk)
                continue
            yield desk, state, boot, seq, float(updated)

    def forget(self, desks: list[str]) -> None:
        """Remove the desks' rows."""
        self._db.executemany("DELETE FROM desk_state WHERE desk = ?", [(d,) for d in desks])

    def save(
        self, desk: str, state: dict[str, Any], boot: str | None, seq: int | None, now: float
    ) -> None:
        """Replace the desk's row."""
        self.save_many([(desk, state, boot, seq, now)])

    def save_many(
        self,
        rows: list[tuple[str, dict[str, Any], str | None, int | None, float]],
    ) -> None:
        """Replace several desks' rows, (desk, state, boot, seq, now) each, in one statement.

        ``state`` is anything orjson encodes: dicts, and dataclasses such as ``Desk.record``.
        """
        self._db.executemany(
            "INSERT INTO desk_state (desk, state, boot, seq, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(desk) DO UPDATE SET state=excluded.state, boot=excluded.boot, "
            "seq=excluded.seq, updated=excluded.updated",
            [
                (desk, orjson.dumps(state).decode(), boot, seq, now)
                for desk, state, boot, seq, now in rows
            ],
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Make every ``save`` inside one commit: one write per batch of messages, not per message.

        On an error the saves are rolled back and the error goes to the caller.
        """
        self._db.execute("BEGIN")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the file."""
        self._db.close()
