"""Each chair's reported drift, and whether it needs a re-tare.

The sitless firmware reports ``drift`` in its telemetry: its empty-seat
baseline minus the calibrated empty value, in the sensor's units. The
baseline follows slow changes by itself while the seat is empty; a drift
larger than ``max_drift`` (``[tare]``, or the desk's own ``max_drift``), either
way, means the seat or the sensor changed more than slow tracking should
explain, and the chair is marked "needs re-tare". A chair that reports no
drift (other firmware) is never marked.

Written by the owner thread only; read by others under the service's lock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.config import HubConfig


@dataclass(frozen=True, slots=True)
class Drift:
    """The latest drift of one chair, when it came, and the verdict."""

    value: float
    at: float
    limit: float

    @property
    def needs_retare(self) -> bool:
        """Whether the baseline wandered further than the desk's ``max_drift``."""
        return abs(self.value) > self.limit


def needs_retare(drift: float | None, limit: float) -> bool:
    """The rule on its own: a known drift larger than ``limit`` either way."""
    return drift is not None and math.isfinite(drift) and abs(drift) > limit


def limit_for(cfg: HubConfig, desk_id: str) -> float:
    """A desk's ``max_drift``, else the ``[tare]`` default (Home Assistant's sensor uses it too)."""
    own = cfg.desks.get(desk_id)
    if own is not None and own.max_drift is not None:
        return own.max_drift
    return cfg.tare.max_drift


class DriftBook:
    """The latest reported drift per desk."""

    def __init__(self, cfg: HubConfig) -> None:
        self.cfg = cfg
        self._latest: dict[str, Drift] = {}

    def limit(self, desk_id: str) -> float:
        """The desk's ``max_drift``, else the ``[tare]`` default."""
        return limit_for(self.cfg, desk_id)

    def note(self, desk_id: str, drift: float | None, at: float) -> bool:
        """Keep a chair's reported drift; True when its verdict changed (a log line is due)."""
        if drift is None:
            return False
        before = self._latest.get(desk_id)
        now = Drift(float(drift), at, self.limit(desk_id))
        self._latest[desk_id] = now
        was = before.needs_retare if before is not None else False
        return now.needs_retare != was

    def get(self, desk_id: str) -> Drift | None:
        """The latest drift of a desk, if its chair reported one."""
        return self._latest.get(desk_id)

    def forget(self, desk_id: str) -> None:
        """Drop a forgotten desk."""
        self._latest.pop(desk_id, None)

    def snapshot(self) -> dict[str, Drift]:
        """A copy (the caller holds the service's lock)."""
        return dict(self._latest)
