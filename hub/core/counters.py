"""What the service counts (for the status page and /metrics) and its rate-limited drop log."""

from __future__ import annotations

import logging
import math
import threading
from collections import Counter
from typing import Any

logger = logging.getLogger(__name__)

DROP_LOG_EVERY_S = 60.0


class Counters:
    """Thread-safe counts for the status page and /metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_in = 0
        self.dropped: Counter[str] = Counter()
        self.alerts_out = 0
        self.clears_out = 0
        self.alerts_acked = 0
        self.acks_unknown = 0
        self.commands_refused = 0
        self.notifications: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        """Add to one of the plain counters."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def drop(self, reason: str) -> None:
        """Count one dropped message."""
        with self._lock:
            self.dropped[reason] += 1

    def notified(self, outcome: str) -> None:
        """Count one notification outcome (sent, failed, dropped)."""
        with self._lock:
            self.notifications[outcome] += 1

    def snapshot(self) -> dict[str, Any]:
        """A copy that can be read without the lock."""
        with self._lock:
            return {
                "messages_in": self.messages_in,
                "dropped": dict(self.dropped),
                "alerts_out": self.alerts_out,
                "clears_out": self.clears_out,
                "alerts_acked": self.alerts_acked,
                "acks_unknown": self.acks_unknown,
                "commands_refused": self.commands_refused,
                "notifications": dict(self.notifications),
            }


class DropLog:
    """At most one log line per drop reason per period, saying how many were dropped."""

    def __init__(self, every: float = DROP_LOG_EVERY_S) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._pending: Counter[str] = Counter()

    def note(self, reason: str, detail: str, now: float) -> None:
        """Remember a drop and log it if this reason has been quiet long enough."""
        self._pending[reason] += 1
        if now - self._last.get(reason, -math.inf) >= self.every:
            logger.warning(
                "dropped %d message(s): %s (latest: %s)",
                self._pending[reason],
                reason,
                detail[:200],
            )
            self._last[reason] = now
            self._pending[reason] = 0
