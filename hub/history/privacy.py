"""Who may see what: where each point goes, and zone aggregates that never single anyone out.

Under ``privacy = "desk"`` every point goes to the main database. Under
``"aggregate"`` the main database only ever receives zone occupancy (pooled,
below) and the hub's own backlog; the per-desk points, device health
included, go to the personal database/bucket when one is configured, and
nowhere otherwise. Device health stays out of the main database even without
its desk tag: each heartbeat is one chair's, a zone of one desk is that desk,
and a chair's uptime and firmware follow it from point to point, so pooling
the tags would not hide who it is.

A zone with fewer desks than ``min_group`` would let anyone read one person's
presence off the zone line, so small groups are pooled with the other small
groups of the same floor, then of the same site, then of all sites; a pool
that is still too small is not written at all.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from hub.config import HistoryConfig, HubConfig
from hub.core.facts import DeskSample
from hub.history.points import DEVICE_HEALTH, PER_DESK, HistoryPoint

Target = Literal["main", "personal"]
MAIN: Final[Target] = "main"
PERSONAL: Final[Target] = "personal"
MERGED: Final = "_merged"
"""Tag value of a level that was pooled because its groups were too small."""


def personal_target_configured(history: HistoryConfig) -> bool:
    """Whether a separate personal database (v1) or bucket (v2) is set for the current api."""
    if history.api == "v1":
        return bool(history.personal_database)
    if history.api == "v2":
        return bool(history.personal_bucket)
    return False


class Router:
    """Decides, per point, which targets it is written to."""

    def __init__(self, history: HistoryConfig) -> None:
        self.aggregate = history.privacy == "aggregate"
        self.personal = personal_target_configured(history)

    def route(self, point: HistoryPoint) -> list[tuple[Target, HistoryPoint]]:
        """The (target, point) pairs to spool; empty when the point may go nowhere."""
        if not self.aggregate:
            return [(MAIN, point)]
        out: list[tuple[Target, HistoryPoint]] = []
        if point.measurement in PER_DESK or point.measurement == DEVICE_HEALTH:
            return [(PERSONAL, point)] if self.personal else out
        return [(MAIN, point)]


@dataclass(frozen=True, slots=True)
class ZoneCount:
    """Occupied and known desks in one group at one instant."""

    site: str
    floor: str
    zone: str
    occupied: int
    desks: int


def zone_counts(cfg: HubConfig, samples: Iterable[DeskSample], min_group: int) -> list[ZoneCount]:
    """Count desks per zone, pooling groups smaller than ``min_group`` one level up at a time."""
    zones: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for sample in samples:
        where = cfg.desk(sample.desk)
        count = zones[(where.site, where.floor, where.zone)]
        count[0] += int(sample.occupied)
        count[1] += 1
    out: list[ZoneCount] = []
    floors: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (site, floor, zone), (occupied, desks) in sorted(zones.items()):
        if desks >= min_group:
            out.append(ZoneCount(site, floor, zone, occupied, desks))
        else:
            _add(floors[(site, floor)], occupied, desks)
    sites: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (site, floor), (occupied, desks) in sorted(floors.items()):
        if desks >= min_group:
            out.append(ZoneCount(site, floor, MERGED, occupied, desks))
        else:
            _add(sites[site], occupied, desks)
    everywhere = [0, 0]
    for site, (occupied, desks) in sorted(sites.items()):
        if desks >= min_group:
            out.append(ZoneCount(site, MERGED, MERGED, occupied, desks))
        else:
            _add(everywhere, occupied, desks)
    if everywhere[1] and everywhere[1] >= min_group:
        out.append(ZoneCount(MERGED, MERGED, MERGED, everywhere[0], everywhere[1]))
    return out


def _add(pool: list[int], occupied: int, desks: int) -> None:
    pool[0] += occupied
    pool[1] += desks
