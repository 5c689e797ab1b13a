"""What each role sees of one frame: every desk, one desk, or zone counts with no desk in them.

Facilities never get a desk id: only counts per zone. Under ``privacy =
"aggregate"`` a zone with fewer desks than ``min_group`` is pooled with the
other small zones of its floor, then of its site, then of all sites, as the
history does, and a pool still too small is left out. Under ``privacy =
"desk"`` the counts are per zone as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from hub.web.auth import Principal

MERGED: Final = "_merged"
_OCCUPIED: Final = frozenset({"seated", "alerting", "snoozed", "paused"})


@dataclass(frozen=True, slots=True)
class Privacy:
    """The page's share of the history settings."""

    aggregate: bool = False
    min_group: int = 3

    @property
    def group(self) -> int:
        """The smallest group shown on its own."""
        return self.min_group if self.aggregate else 1


def visible_desks(
    desks: Mapping[str, dict[str, Any]], who: Principal | None
) -> dict[str, dict[str, Any]]:
    """The desks a viewer may see by id: all without accounts or for an admin, one for a person."""
    if who is None or who.role == "admin":
        return dict(desks)
    if who.role == "person" and who.desk is not None and who.desk in desks:
        return {who.desk: desks[who.desk]}
    return {}


def sees_desk(desk: str, who: Principal | None) -> bool:
    """Whether a viewer may see ``desk`` by id, by the same rule as ``visible_desks``."""
    if who is None or who.role == "admin":
        return True
    return who.role == "person" and who.desk == desk


def zones(desks: Iterable[Mapping[str, Any]], privacy: Privacy) -> list[dict[str, Any]]:
    """Counts per zone (pooled when small), sorted by site, floor and zone; no desk ids."""
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for desk in desks:
        key = (str(desk.get("site")), str(desk.get("floor")), str(desk.get("zone")))
        _add(groups[key], _counts(desk))
    least = privacy.group
    out: list[dict[str, Any]] = []
    floors: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (site, floor, zone), counts in sorted(groups.items()):
        if counts[0] >= least:
            out.append(_zone(site, floor, zone, counts))
        else:
            _add(floors[(site, floor)], counts)
    sites: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for (site, floor), counts in sorted(floors.items()):
        if counts[0] >= least:
            out.append(_zone(site, floor, MERGED, counts))
        else:
            _add(sites[site], counts)
    everywhere = [0, 0, 0, 0]
    for site, counts in sorted(sites.items()):
        if counts[0] >= least:
            out.append(_zone(site, MERGED, MERGED, counts))
        else:
            _add(everywhere, counts)
    if everywhere[0] and everywhere[0] >= least:
        out.append(_zone(MERGED, MERGED, MERGED, everywhere))
    return out


def _counts(desk: Mapping[str, Any]) -> list[int]:
    state = desk.get("state")
    return [1, int(state in _OCCUPIED), int(state == "alerting"), int(bool(desk.get("online")))]


def _add(pool: list[int], counts: list[int]) -> None:
    for i, value in enumerate(counts):
        pool[i] += value


def _zone(site: str, floor: str, zone: str, counts: list[int]) -> dict[str, Any]:
    return {
        "site": site,
        "floor": floor,
        "zone": zone,
        "desks": counts[0],
        "occupied": counts[1],
        "alerting": counts[2],
        "online": counts[3],
    }
