"""Per-desk deadlines in a heap, so alerts fire on time even when no message arrives.

Each desk has at most one live deadline. Setting a new one leaves the old
heap entry in place; it is recognised as stale when popped, which keeps every
operation O(log n) without searching the heap.
"""

from __future__ import annotations

import heapq


class Deadlines:
    """The earliest moment each desk needs a tick."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._live: dict[str, float] = {}

    def set(self, desk_id: str, when: float | None) -> None:
        """Replace the desk's deadline; None removes it."""
        if when is None:
            self._live.pop(desk_id, None)
            return
        if self._live.get(desk_id) == when:
            return
        self._live[desk_id] = when
        heapq.heappush(self._heap, (when, desk_id))

    def next_time(self) -> float | None:
        """The earliest live deadline, or None."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int | None = None) -> list[str]:
        """Desks whose deadline is at or before now, earliest first, each once, removed.

        At most ``limit`` of them (all without one); the rest stay for the next call.
        """
        due: list[str] = []
        while limit is None or len(due) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return due
            _, desk_id = heapq.heappop(self._heap)
            del self._live[desk_id]
            due.append(desk_id)
        return due

    def __len__(self) -> int:
        return len(self._live)

    def _drop_stale(self) -> None:
        while self._heap and self._live.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
