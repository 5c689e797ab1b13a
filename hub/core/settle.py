"""Restored desks wait for the broker's backlog before their deadlines are judged.

A hub that was down comes back with each desk as its checkpoint left it,
and a persistent session at the broker holds what the chairs said
meanwhile: a break, a long press, a snooze. Judging a restored desk's
deadline before that backlog arrives would buzz someone who stood up or
paused while the hub was away. So the deadlines of restored desks are held
until the link has been up for ``SETTLE_S`` (by the service's own clock, so
an injected clock passes it too) and the inbox has been drained once since;
the backlog's events are applied meanwhile, each at its own time. The hold
never lasts longer than ``HOLD_MAX_S`` of real time after the start, so a
broker that never answers delays nothing for long.

The hub connects while it restores the checkpoint (a large one takes
seconds), and the restore calls ``watch`` as it goes, so the link's second
is counted from when it came up; the backlog waits in the inbox meanwhile.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

SETTLE_S = 1.0
HOLD_MAX_S = 10.0
POLL_S = 0.1  # how often the owner loop looks while desks are held


class StartHold:
    """Which restored desks still wait, and whether the wait is over."""

    def __init__(self, connected: threading.Event, clock: Callable[[], float]) -> None:
        self._connected = connected
        self._clock = clock
        self._held: set[str] = set()
        self._connected_at: float | None = None
        self._ends_by = time.monotonic() + HOLD_MAX_S

    def hold(self, desk_id: str) -> None:
        """A desk restored from the checkpoint: its deadline waits."""
        self._held.add(desk_id)

    def holds(self, desk_id: str) -> bool:
        """Whether this desk's deadline still waits."""
        return desk_id in self._held

    @property
    def active(self) -> bool:
        """Whether any desk still waits."""
        return bool(self._held)

    def watch(self) -> None:
        """Note when the link came up (the first time it is seen up)."""
        if self._connected_at is None and self._connected.is_set():
            self._connected_at = self._clock()

    def release(self, *, drained: bool) -> list[str]:
        """The held desks once the backlog is in (``drained``: the batch emptied the inbox)."""
        if not self._held:
            return []
        self.watch()
        now = self._clock()
        settled = (
            self._connected_at is not None and drained and now >= self._connected_at + SETTLE_S
        )
        if not settled and time.monotonic() < self._ends_by:
            return []
        released = list(self._held)
        self._held.clear()
        return released
