"""One poller turns the source's snapshots into numbered versions that every live page waits on.

Polling a single snapshot for all viewers keeps the cost of the page
independent of how many browsers are open, and lets the hub core stay free of
any callback into the web layer. A desk counts as changed only when something
other than its ticking bout clock changed; browsers tick the clock themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hub.web.source import StatusSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything a page shows, at one instant."""

    version: int
    ts: float
    desks: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    counters: Mapping[str, float] = field(default_factory=dict)


def signature(desk: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must differ for a desk to be re-sent: all but the running bout clock."""
    items = sorted((k, repr(v)) for k, v in desk.items() if k not in ("seated_s", "ts"))
    clock = None if desk.get("ticking") else desk.get("seated_s")
    return (*items, clock)


class Broadcaster:
    """Polls the source on its own thread and wakes every waiting page when a new frame exists."""

    def __init__(self, source: StatusSource, poll_s: float = 0.5) -> None:
        self._source = source
        self._poll_s = poll_s
        self._cond = threading.Condition()
        self._frame = Frame(0, time.time())
        self.polled: float | None = None  # time.monotonic() of the latest successful poll
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Take the first frame now, then keep polling in the background."""
        self.poll_once()
        self._thread = threading.Thread(target=self._run, name="sitless-web-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the poller and release every waiting page."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def stopping(self) -> bool:
        """True once stop() was called, so streams end."""
        return self._stopping.is_set()

    def latest(self) -> Frame:
        """The newest frame."""
        with self._cond:
            return self._frame

    def wait_newer(self, version: int, timeout: float) -> Frame:
        """Block until a frame newer than ``version`` exists, stop() is called, or timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._frame.version <= version and not self._stopping.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._frame

    def poll_once(self) -> None:
        """Read the source and publish a new frame when anything visible changed."""
        now = time.time()
        desks = {view.desk: view.as_json() for view in self._source.snapshot()}
        counters = dict(self._source.counters())
        self.polled = time.monotonic()
        with self._cond:
            old = self._frame
            same = (
                counters == old.counters
                and desks.keys() == old.desks.keys()
                and all(signature(desks[k]) == signature(old.desks[k]) for k in desks)
            )
            if same and old.version:
                return
            self._frame = Frame(old.version + 1, now, desks, counters)
            self._cond.notify_all()

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_s):
            try:
                self.poll_once()
            except Exception:
                # The page must outlive a bad snapshot; the next poll tries again.
                logger.exception("status page could not read the hub's snapshot")
