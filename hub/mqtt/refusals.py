"""What the broker refused, or the hub refused to send or take: counted by reason, said at WARNING.

Each refusal is counted under a short reason (``packet_too_large``,
``not_authorized``, ``subscription``, ``session_taken_over`` ...), which
``/metrics`` shows as ``sitless_mqtt_refused_total{reason=...}``. The first of
each reason is logged at once with its details; after that at most one line a
minute per reason, with the number seen since, so a broker refusing every
message cannot flood the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

LOG_EVERY_S = 60.0


class Refusals:
    """Counts refusals by reason and logs them at WARNING, rate-limited per reason."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}

    def add(self, reason: str, message: str, *args: Any) -> None:
        """Count one refusal; log it now unless this reason was logged within the minute."""
        now = self._clock()
        with self._lock:
            self._counts[reason] = self._counts.get(reason, 0) + 1
            last = self._logged_at.get(reason)
            if last is not None and now - last < LOG_EVERY_S:
                self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
                return
            self._logged_at[reason] = now
            more = self._unlogged.pop(reason, 0)
        if more:
            logger.warning("%s (and %d more like it in the last minute)", message % args, more)
        else:
            logger.warning(message, *args)

    def snapshot(self) -> dict[str, int]:
        """Refusals so far, by reason."""
        with self._lock:
            return dict(self._counts)
