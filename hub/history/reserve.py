"""Disk space set aside beside the spool, so the spool can still drain when the disk is full.

Deleting rows the server has accepted is itself a write (SQLite's WAL takes
the changed pages), so on a full disk the writer could send a batch but never
delete it: the same batch went again every few seconds and new points stayed
dropped. The writer keeps a file of ``RESERVE_BYTES`` next to the spool; when
a delete fails because the disk is full it removes the file, and the delete
(and the space it frees inside the spool) goes through. The file is made
again once the disk has room.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Final

logger = logging.getLogger(__name__)

RESERVE_BYTES: Final = 4 << 20
RESERVE_NAME: Final = "sitless-spool.reserve"


class Reserve:
    """One reserve file; ``release`` frees it, ``restore`` makes it again when there is room."""

    def __init__(self, folder: Path, size: int = RESERVE_BYTES) -> None:
        self.path = folder / RESERVE_NAME
        self.size = size

    def restore(self) -> None:
        """Make the file if it is missing and the disk has room for it twice over."""
        if self.path.exists():
            return
        try:
            room = os.statvfs(self.path.parent)
            if room.f_bavail * room.f_frsize < 2 * self.size:
                return
            with self.path.open("wb") as out:
                out.truncate(0)
                out.write(b"\0" * self.size)  # real blocks, not a sparse file
        except OSError as exc:
            logger.debug("no spool reserve made: %s", exc)
            with contextlib.suppress(OSError):
                self.path.unlink()

    def release(self) -> bool:
        """Remove the file; whether there was one to remove."""
        try:
            self.path.unlink()
        except OSError:
            return False
        logger.error(
            "the disk under %s is full: released the %d MiB set aside so the history "
            "spool can still drain; free some space",
            self.path.parent,
            self.size >> 20,
        )
        return True
