"""History samples: every desk's state at instants aligned to ``history.sample_period``.

The owner thread only snapshots the desks when a sample instant passes;
turning the snapshot into points happens on a thread of its own. A sample of
every desk costs milliseconds per thousand desks, and on the owner thread it
delayed every alert due meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import threading
from collections.abc import Iterable

from hub.core.facts import DeskSample
from hub.core.ports import HistoryStore
from hub.core.sitting import Desk

logger = logging.getLogger(__name__)


class Sampler:
    """Decides when a sample is due and hands it to its writer thread (or writes it inline)."""

    def __init__(self, history: HistoryStore, period: float) -> None:
        self.history = history
        self.period = period
        self._next: float | None = None
        self._queue: queue.Queue[tuple[float, list[DeskSample] | None]] = queue.Queue(maxsize=2)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Write samples on a thread of their own from now on."""
        self._thread = threading.Thread(target=self._write, name="sitless-sampler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Write what is queued, then end the thread."""
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put((0.0, None), timeout=timeout)
        self._thread.join(timeout)

    def maybe_sample(self, now: float, desks: Iterable[Desk]) -> None:
        """Take a sample if an aligned instant has passed (a clock jump realigns the grid)."""
        period = self.period
        if self._next is None or abs(now - self._next) > 2 * period:
            self._next = math.ceil(now / period) * period
        if now < self._next:
            return
        at = self._next
        self._next = at + period
        samples = [DeskSample(d.desk_id, at, d.seated, d.bout_time(at), d.online) for d in desks]
        if self._thread is None:
            self.history.sample(at, samples)
            return
        try:
            self._queue.put_nowait((at, samples))
        except queue.Full:
            logger.warning(
                "history sample at %.0f skipped: earlier samples are still being written", at
            )

    def _write(self) -> None:
        while True:
            at, samples = self._queue.get()
            if samples is None:
                return
            try:
                self.history.sample(at, samples)
            except Exception:
                logger.exception("could not record the history sample at %.0f", at)
