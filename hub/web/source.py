"""What the status page needs from the hub, kept narrow so the page stays out of hub internals.

The page reads a snapshot of every desk and a handful of counters; it never
changes desk state except through ``pause`` when the source offers it. A
stand-in source (``StaticSource``) lets the page be exercised without a
running hub, and the hub service satisfies the same protocol.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from hub.contract.vocabulary import SEATED_STATES

# States in which the bout clock runs, so the page may tick it forward between updates.
TICKING_STATES = SEATED_STATES

# The counters /metrics exposes; a source may leave any of them out.
COUNTER_NAMES = ("messages_in", "messages_dropped", "alerts_out", "spool_backlog")


@dataclass(frozen=True, slots=True)
class DeskView:
    """One desk as the page shows it; a plain value so it can cross threads safely."""

    desk: str
    state: str
    seated_s: float = 0.0
    level: int = 0
    since: float | None = None
    online: bool = True
    site: str = "default"
    floor: str = "default"
    zone: str = "default"
    today_seated_s: float | None = None
    today_bouts: int | None = None
    today_alerts: int | None = None
    longest_bout_s: float | None = None
    changed: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """One desk as ``/api/desks`` shows it; ``ticking`` tells the page to run the clock."""
        body = asdict(self)
        body.pop("extra")
        body.update(self.extra)
        body["ticking"] = self.state in TICKING_STATES
        body["seated_s"] = round(self.seated_s, 1)
        return body


@runtime_checkable
class StatusSource(Protocol):
    """Anything that can tell the page about desks: the hub service, or a stand-in for tests."""

    def snapshot(self) -> list[DeskView]:
        """Every known desk, as of now."""
        ...

    def counters(self) -> Mapping[str, float]:
        """Totals named as in ``COUNTER_NAMES``."""
        ...


@runtime_checkable
class ChangeSource(Protocol):
    """A source that can tell which desks changed without building every desk's view."""

    def changed_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskView]]:
        """Every desk's mark now, and the views of the desks whose mark is not in ``marks``.

        A mark is any value that moves when what the page shows of the desk
        moves (its ticking clocks aside); the caller hands back the marks of
        its previous call.
        """
        ...


def changes_of(
    source: StatusSource, marks: Mapping[str, Hashable]
) -> tuple[dict[str, Hashable], list[DeskView]]:
    """``source.changed_since(marks)``, or the same answer worked out from a whole snapshot."""
    if isinstance(source, ChangeSource):
        return source.changed_since(marks)
    now: dict[str, Hashable] = {}
    views = []
    for view in source.snapshot():
        mark = now[view.desk] = view_mark(view)
        if marks.get(view.desk) != mark:
            views.append(view)
    return now, views


def view_mark(view: DeskView) -> Hashable:
    """A desk's mark read from its view: every field but the clocks and the time it was read."""
    if view.state in TICKING_STATES:
        clocks: tuple[object, ...] = ()
    else:
        clocks = (view.seated_s, view.today_seated_s, view.longest_bout_s)
    return (
        view.state,
        view.level,
        view.since,
        view.online,
        view.site,
        view.floor,
        view.zone,
        view.today_bouts,
        view.today_alerts,
        repr(sorted(view.extra.items())),
        *clocks,
    )


class StaticSource:
    """A thread-safe stand-in source whose desks are set by hand (tests, screenshots, docs)."""

    def __init__(self, desks: Iterable[DeskView] = ()) -> None:
        self._lock = threading.Lock()
        self._desks = {d.desk: d for d in desks}
        self._counters: dict[str, float] = dict.fromkeys(COUNTER_NAMES, 0.0)

    def put(self, view: DeskView) -> None:
        """Add or replace one desk."""
        with self._lock:
            self._desks[view.desk] = view

    def update(self, desk: str, **changes: Any) -> None:
        """Change some fields of one desk."""
        with self._lock:
            self._desks[desk] = replace(self._desks[desk], changed=time.time(), **changes)

    def count(self, name: str, amount: float = 1.0) -> None:
        """Add to one counter."""
        with self._lock:
            self._counters[name] = self._counters.get(name, 0.0) + amount

    def snapshot(self) -> list[DeskView]:
        """Every desk, sorted by id."""
        with self._lock:
            return [self._desks[k] for k in sorted(self._desks)]

    def counters(self) -> Mapping[str, float]:
        """A copy of the counters."""
        with self._lock:
            return dict(self._counters)
