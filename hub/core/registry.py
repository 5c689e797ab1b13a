"""The desk registry: every desk the hub knows, its rules, where it is, and how it came back.

A desk enters the registry when its first valid message arrives (within
``limits.max_desks_per_prefix``), when the checkpoint restores it at start,
or when the hub's own retained ``sitting`` view seeds it (no checkpoint, for
example after the state folder was lost). The registry also keeps each
desk's dedupe mark, because the checkpoint saves the two together.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from hub import log as hublog
from hub.config import DeskConfig, HubConfig
from hub.contract import protocol
from hub.contract.vocabulary import LEVELS, SEATED_STATES
from hub.core.checkpoint import Checkpoint
from hub.core.intake import MAX_AGE_S, Seen
from hub.core.sitting import Desk, Rules, SittingView

logger = logging.getLogger(__name__)

SWEEP_EVERY_S = 60.0
WATCH_EVERY = 4096  # checkpoint rows between two calls of restore's ``watch``


@dataclass(frozen=True, slots=True)
class DeskEntry:
    """One desk for the status page: the hub's view plus where the desk is."""

    view: SittingView
    prefix: str
    site: str
    floor: str
    zone: str


class DeskRegistry:
    """Desks by id, with their prefix, rules and dedupe marks."""

    def __init__(self, cfg: HubConfig) -> None:
        self.cfg = cfg
        self.desks: dict[str, Desk] = {}
        self.prefix_of: dict[str, str] = {}
        self.seen: dict[str, Seen] = {}
        self.heard: dict[str, float] = {}  # desk id -> the hub's time of its latest message
        self._per_prefix: Counter[str] = Counter()  # desks not in [desks.*], per prefix
        self._shared_rules: Rules | None = None
        self._next_sweep = -math.inf
        self._default: DeskConfig | None = None  # where a desk without a section is
        # Our own retained views heard back while restored desks wait (``restore`` to
        # ``settled``): desk id -> payload, so a view the broker still holds is not sent again.
        self._heard_views: dict[str, bytes] | None = None

    def get(self, desk_id: str) -> Desk | None:
        """The desk, if known."""
        return self.desks.get(desk_id)

    def full(self, prefix: str) -> bool:
        """Whether ``prefix`` already holds ``limits.max_desks_per_prefix`` desks."""
        return self._per_prefix[prefix] >= self.cfg.limits.max_desks_per_prefix

    def admits(self, desk_id: str, prefix: str) -> bool:
        """Whether a new desk may join ``prefix``: a desk in [desks.*] always may."""
        return desk_id in self.cfg.desks or not self.full(prefix)

    def sweep(self, now: float) -> list[tuple[str, str]]:
        """Forget desks not in [desks.*] silent for ``limits.forget_after``; (desk, prefix) each.

        Called when a new desk finds its prefix full, at most once a minute,
        so a flood of made-up ids costs one pass over the desks a minute.
        """
        if now < self._next_sweep:
            return []
        self._next_sweep = now + SWEEP_EVERY_S
        silent_since = now - self.cfg.limits.forget_after
        gone = [
            d
            for d, at in self.heard.items()
            if at <= silent_since and d not in self.cfg.desks and d in self.desks
        ]
        return [(d, self.forget(d)) for d in gone]

    def forget(self, desk_id: str) -> str:
        """Drop one desk from memory; its prefix."""
        del self.desks[desk_id]
        prefix = self.prefix_of.pop(desk_id)
        self.seen.pop(desk_id, None)
        self.heard.pop(desk_id, None)
        if desk_id not in self.cfg.desks:
            self._per_prefix[prefix] -= 1
        return prefix

    def add(self, desk_id: str, prefix: str) -> Desk:
        """A new desk under ``prefix`` (the caller checked ``full``)."""
        desk = Desk(desk_id, self._rules_for(desk_id))
        self.desks[desk_id] = desk
        self.prefix_of[desk_id] = prefix
        if desk_id not in self.cfg.desks:
            self._per_prefix[prefix] += 1
        return desk

    def seen_for(self, desk_id: str) -> Seen:
        """The desk's dedupe mark, made on first use."""
        seen = self.seen.get(desk_id)
        if seen is None:
            seen = self.seen[desk_id] = Seen()
        return seen

    def _rules_for(self, desk_id: str) -> Rules:
        """Desks without a section of their own share one ``Rules`` (one object, not one each)."""
        if desk_id in self.cfg.desks:
            return Rules.for_desk(self.cfg, desk_id)
        if self._shared_rules is None:
            self._shared_rules = Rules.for_desk(self.cfg, desk_id)
        return self._shared_rules

    # ---- coming back ---------------------------------------------------------------

    def restore(
        self, checkpoint: Checkpoint, now: float, *, watch: Callable[[], None] | None = None
    ) -> list[Desk]:
        """Every desk the checkpoint holds for our prefixes, resumed at ``now``.

        A desk not in [desks.*] that was silent for ``limits.forget_after`` is
        forgotten (its row deleted) instead. From here until ``settled``, our own
        retained views heard back are kept (``held_deadline`` compares them).
        ``watch`` is called every ``WATCH_EVERY`` rows (the start hold notes the link).
        """
        restored = []
        prefixes = self.cfg.mqtt.prefixes
        own = self.cfg.desks
        silent, forget_before = [], now - self.cfg.limits.forget_after
        for n, (desk_id, state, boot, seq, updated) in enumerate(checkpoint.rows()):
            if watch is not None and not n % WATCH_EVERY:
                watch()
            prefix, record = state.get("prefix"), state.get("desk")
            if prefix not in prefixes or not isinstance(record, dict):
                continue
            if updated <= forget_before and desk_id not in own:
                silent.append(desk_id)
                continue
            desk = self.add(desk_id, prefix)
            self.heard[desk_id] = updated
            try:
                desk.restore(record)
            except (TypeError, ValueError, OverflowError):
                logger.warning(
                    "checkpoint for this desk is unreadable; starting fresh",
                    extra=hublog.desk(desk_id),
                )
                continue
            desk.resume(now)
            if boot is not None and seq is not None:
                self.seen[desk_id] = Seen(boot, seq)
            restored.append(desk)
        if silent:
            checkpoint.forget(silent)
            logger.info("forgot %d desk(s) silent for limits.forget_after", len(silent))
        if self.desks:
            logger.info("restored %d desk(s) from the checkpoint", len(self.desks))
        self._heard_views = {} if restored else None
        return restored

    def held_deadline(self, desk: Desk, now: float) -> float | None:
        """When a restored desk, released after the backlog, is next ticked.

        A restored desk takes the broker to hold the view last sent for its
        saved state (``Desk.resume``). When the view heard back differs, or
        none was heard (lost at the broker, or a crash came between saving the
        desk and sending its view), the view is sent again at the tick due
        ``now``; else the desk waits for its own next deadline.
        """
        heard = self._heard_views.get(desk.desk_id) if self._heard_views is not None else None
        shown = desk.shown
        try:
            view = orjson.loads(heard) if heard is not None else None
        except orjson.JSONDecodeError:
            view = None
        if (
            shown is None
            or not isinstance(view, dict)
            or (view.get("state"), view.get("level"), view.get("since")) != shown[:3]
        ):
            desk.show_again()
            return now
        return desk.next_deadline(now)

    def settled(self) -> None:
        """The restored desks are released: our own retained views are no longer kept."""
        self._heard_views = None

    def seed(self, where: protocol.Topic, payload: bytes, now: float) -> Desk | None:
        """A desk rebuilt from our own retained view, if unknown, admitted and the view is sane.

        Anyone who can write the topic can retain a view, so it is checked like
        a chair's message: a known seated state, a level from 0 to 3, and a
        ``since`` that is a finite time within the last day (no NaN, no
        Infinity, nothing that would make the bout time infinite). A seeded desk
        counts against ``limits.max_desks_per_prefix`` like any other. A known
        desk is not seeded; while restored desks wait, its view is kept instead.
        """
        if where.desk in self.desks:
            if self._heard_views is not None:
                self._heard_views[where.desk] = payload
            return None
        view = self._sane_view(where, payload, now)
        if view is None or not self.admits(where.desk, where.prefix):
            return None
        desk = self.add(where.desk, where.prefix)
        desk.seed(*view, now)
        return desk

    @staticmethod
    def _sane_view(where: protocol.Topic, payload: bytes, now: float) -> tuple[float, int] | None:
        """A retained view's (since, level), if it is one ``seed`` may rebuild a desk from."""
        if not protocol.DESK_ID.match(where.desk):
            return None
        try:
            view = orjson.loads(payload)  # refuses NaN and Infinity
        except orjson.JSONDecodeError:
            return None
        if not isinstance(view, dict):
            return None
        state, since, level = view.get("state"), view.get("since"), view.get("level")
        if (
            state not in SEATED_STATES
            or not isinstance(level, int)
            or isinstance(level, bool)
            or level not in LEVELS
            or not isinstance(since, int | float)
            or isinstance(since, bool)
            or not now - MAX_AGE_S <= since <= now
        ):
            return None
        return float(since), level

    # ---- going out -----------------------------------------------------------------

    def rows(
        self, changed: dict[str, float]
    ) -> list[tuple[str, dict[str, Any], str | None, int | None, float]]:
        """Checkpoint rows for the desks in ``changed`` (desk id -> time of its last change)."""
        rows = []
        for desk_id, when in changed.items():
            seen = self.seen.get(desk_id) or Seen()
            state = {"prefix": self.prefix_of[desk_id], "desk": self.desks[desk_id].record}
            rows.append((desk_id, state, seen.boot, seen.seq, when))
        return rows

    def entries(self, now: float) -> list[DeskEntry]:
        """Every desk as it is now, sorted by id, with where it is."""
        return [self._entry(desk_id, desk, now) for desk_id, desk in sorted(self.desks.items())]

    def entries_since(
        self, marks: Mapping[str, Hashable], now: float
    ) -> tuple[dict[str, Hashable], list[DeskEntry]]:
        """Every desk's mark (``Desk.shown``), and the entries of those not so in ``marks``.

        A quiet fleet costs one comparison per desk: no view is built for a
        desk whose view has not been published again since the caller looked.
        """
        now_marks: dict[str, Hashable] = {}
        out = []
        for desk_id, desk in self.desks.items():
            mark = now_marks[desk_id] = desk.shown
            if mark is None or marks.get(desk_id) != mark:
                out.append(self._entry(desk_id, desk, now))
        return now_marks, out

    def _entry(self, desk_id: str, desk: Desk, now: float) -> DeskEntry:
        own = self.cfg.desks.get(desk_id)  # cfg.desk() would build a default section per call
        where = own if own is not None else self._default_place()
        return DeskEntry(
            desk.view(now), self.prefix_of.get(desk_id, ""), where.site, where.floor, where.zone
        )

    def _default_place(self) -> DeskConfig:
        if self._default is None:
            self._default = DeskConfig()
        return self._default
