"""One poller turns the source's desks into numbered frames, each naming what changed.

Polling one source for all viewers keeps the cost of the page independent
of how many browsers are open, and lets the hub core stay free of any
callback into the web layer. Each frame records which desks changed or went
since the one before it, and the last ``KEEP`` of those records are kept, so
a viewer that wakes up sends only those desks, however many the hub knows.

A source that can say what changed (``ChangeSource``: the hub service does)
builds views only for the desks whose mark moved, so a quiet fleet costs one
pass over cheap marks per poll; any other source is read whole and marked
from its views. Either way a desk counts as changed only when something
other than its ticking clocks changed; browsers tick the clocks themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from hub.web.source import DeskView, StatusSource, changes_of

logger = logging.getLogger(__name__)

# Frames whose changes are remembered; a viewer further behind gets a fresh snapshot.
KEEP: Final = 64
# Never part of the signature: the bout clock and the time the view was read.
_UNSIGNED: Final = frozenset({"seated_s", "ts", "changed"})
# Also left out while the bout clock runs: they grow with it, and the browser adds the bout.
_TICKING: Final = frozenset({"today_seated_s", "longest_bout_s"})


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything a page shows, at one instant, and which desks changed or went since the last."""

    version: int
    ts: float
    desks: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    counters: Mapping[str, float] = field(default_factory=dict)
    changed: frozenset[str] = frozenset()
    gone: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Delta:
    """The desks to re-send to a viewer that saw an older frame, and those to take away."""

    changed: tuple[str, ...]
    gone: tuple[str, ...]


def signature(desk: Mapping[str, Any]) -> tuple[Any, ...]:
    """What must differ for a desk to be re-sent: all but its clocks and the time it was read."""
    ticking = bool(desk.get("ticking"))
    skip = _UNSIGNED | _TICKING if ticking else _UNSIGNED
    items = sorted((k, repr(v)) for k, v in desk.items() if k not in skip)
    clock = None if ticking else desk.get("seated_s")
    return (*items, clock)


class Broadcaster:
    """Polls the source on its own thread and wakes every waiting page when a new frame exists."""

    def __init__(self, source: StatusSource, poll_s: float = 0.5) -> None:
        self._source = source
        self._poll_s = poll_s
        self._cond = threading.Condition()
        self._frame = Frame(0, time.time())
        self._marks: Mapping[str, Hashable] = {}
        self._recent: deque[Frame] = deque(maxlen=KEEP)
        self.polled: float | None = None  # time.monotonic() of the latest successful poll
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._poll_lock = threading.Lock()  # a pause's poll and the poller's never interleave
        self._shared: dict[Hashable, bytes] = {}
        self._shared_lock = threading.Lock()

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

    def shared(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The bytes every viewer of one audience sends for one change, made once.

        ``key`` names the change and the audience. The first viewer to ask
        makes them while the others wait for the result, so a hundred viewers
        encode a burst of changed desks once, not a hundred times; the last
        ``KEEP`` are kept.
        """
        with self._shared_lock:
            data = self._shared.get(key)
            if data is None:
                data = self._shared[key] = make()
                while len(self._shared) > KEEP:
                    del self._shared[next(iter(self._shared))]
            return data

    def since(self, version: int, frame: Frame) -> Delta | None:
        """What changed from frame ``version`` to ``frame``; None when it is no longer known."""
        with self._cond:
            kept = [f for f in self._recent if version < f.version <= frame.version]
        if len(kept) != frame.version - version:
            return None
        changed: set[str] = set()
        gone: set[str] = set()
        for f in kept:
            changed |= f.changed
            gone |= f.gone
        now = frame.desks
        return Delta(
            tuple(sorted(d for d in changed if d in now)),
            tuple(sorted(d for d in gone if d not in now)),
        )

    def poll_once(self) -> None:
        """Read the source and publish a new frame when anything visible changed."""
        with self._poll_lock:
            now = time.time()
            old = self.latest()
            marks, views = changes_of(self._source, self._marks)
            desks, changed, gone = _merge(old.desks, marks, views)
            counters = dict(self._source.counters())
            self.polled = time.monotonic()
            self._marks = marks
            if old.version and not changed and not gone and counters == old.counters:
                return
            frame = Frame(old.version + 1, now, desks, counters, changed, gone)
            with self._cond:
                self._frame = frame
                self._recent.append(frame)
                self._cond.notify_all()

    def _run(self) -> None:
        while not self._stopping.wait(self._poll_s):
            try:
                self.poll_once()
            except Exception:
                # The page must outlive a bad snapshot; the next poll tries again.
                logger.exception("status page could not read the hub's snapshot")


def _merge(
    old: Mapping[str, dict[str, Any]], marks: Mapping[str, Hashable], views: list[DeskView]
) -> tuple[Mapping[str, dict[str, Any]], frozenset[str], frozenset[str]]:
    """The old desks with the changed views laid over them and the unmarked ones taken away."""
    gone = frozenset(old.keys() - marks.keys()) if old.keys() != marks.keys() else frozenset()
    fresh = {}
    for view in views:
        body = view.as_json()
        before = old.get(view.desk)
        if before is None or signature(before) != signature(body):
            fresh[view.desk] = body
    if not fresh and not gone:
        return old, frozenset(), frozenset()
    desks = {k: v for k, v in old.items() if k not in gone} if gone else dict(old)
    desks.update(fresh)
    return desks, frozenset(fresh), gone


def as_of(desk: dict[str, Any], now: float) -> dict[str, Any]:
    """The desk as of ``now``: a ticking desk's clocks moved on from when it was read.

    A frame keeps each desk as it was when it last changed, so a first load
    or an API answer long after that moves the running clocks forward by the
    time since (``changed`` is when the hub read the desk).
    """
    read = desk.get("changed")
    if not desk.get("ticking") or not isinstance(read, int | float) or now <= read:
        return desk
    later = now - read
    out = dict(desk)
    out["seated_s"] = round(float(desk.get("seated_s") or 0.0) + later, 1)
    today = desk.get("today_seated_s")
    if isinstance(today, int | float):
        out["today_seated_s"] = today + later
    longest = desk.get("longest_bout_s")
    if isinstance(longest, int | float):
        out["longest_bout_s"] = max(longest, out["seated_s"])
    return out
