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
        out: dict[str, Saved] = {}
        for desk, state, boot, seq, updated in self._db.execute(
            "SELECT desk, state, boot, seq, updated FROM desk_state"
        ):
            try:
                data = json.loads(state)
            except ValueError:
                logger.warning("checkpoint row for desk %s is unreadable; starting it fresh", desk)
                continue
            out[desk] = Saved(data, boot, seq, float(updated))
        return out

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
