"""The desk registry: every desk the hub knows, its rules, where it is, and how it came back.

A desk enters the registry when its first valid message arrives (within
``limits.max_desks_per_prefix``), when the checkpoint restores it at start,
or when the hub's own retained ``sitting`` view seeds it (no checkpoint, for
example after the state folder was lost). The registry also keeps each
desk's dedupe mark, because the checkpoint saves the two together.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any

from hub import log as hublog
from hub.config import HubConfig
from hub.contract import protocol
from hub.core.checkpoint import Checkpoint
from hub.core.intake import Seen
from hub.core.sitting import Desk, Rules, SittingView

logger = logging.getLogger(__name__)


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
        self._per_prefix: Counter[str] = Counter()
        self._shared_rules: Rules | None = None

    def get(self, desk_id: str) -> Desk | None:
        """The desk, if known."""
        return self.desks.get(desk_id)

    def full(self, prefix: str) -> bool:
        """Whether ``prefix`` already holds ``limits.max_desks_per_prefix`` desks."""
        return self._per_prefix[prefix] >= self.cfg.limits.max_desks_per_prefix

    def add(self, desk_id: str, prefix: str) -> Desk:
        """A new desk under ``prefix`` (the caller checked ``full``)."""
        desk = Desk(desk_id, self._rules_for(desk_id))
        self.desks[desk_id] = desk
        self.prefix_of[desk_id] = prefix
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

    def restore(self, checkpoint: Checkpoint, now: float) -> list[Desk]:
        """Every desk the checkpoint holds for our prefixes, resumed at ``now``."""
        restored = []
        prefixes = self.cfg.mqtt.prefixes
        for desk_id, saved in checkpoint.load().items():
            prefix = saved.state.get("prefix")
            if prefix not in prefixes or not isinstance(saved.state.get("desk"), dict):
                continue
            desk = self.add(desk_id, prefix)
            try:
                desk.restore(saved.state["desk"])
            except (TypeError, ValueError):
                logger.warning(
                    "checkpoint for this desk is unreadable; starting fresh",
                    extra=hublog.desk(desk_id),
                )
                continue
            desk.resume(now)
            if saved.boot is not None and saved.seq is not None:
                self.seen[desk_id] = Seen(saved.boot, saved.seq)
            restored.append(desk)
        if self.desks:
            logger.info("restored %d desk(s) from the checkpoint", len(self.desks))
        return restored

    def seed(self, where: protocol.Topic, payload: bytes, now: float) -> Desk | None:
        """A desk rebuilt from our own retained view, if unknown and the view is usable."""
        if where.desk in self.desks or not protocol.DESK_ID.match(where.desk):
            return None
        try:
            view = json.loads(payload)
            state, since, level = view["state"], view["since"], int(view["level"])
        except (ValueError, KeyError, TypeError):
            return None
        if state in ("vacant", "offline") or not isinstance(since, int | float):
            return None
        desk = self.add(where.desk, where.prefix)
        desk.seed(float(since), level, now)
        return desk

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
        out = []
        for desk_id, desk in sorted(self.desks.items()):
            where = self.cfg.desk(desk_id)
            out.append(
                DeskEntry(
                    desk.view(now),
                    self.prefix_of.get(desk_id, ""),
                    where.site,
                    where.floor,
                    where.zone,
                )
            )
        return out
