"""The break accounting part of ``sitless report --breaks``: gathered, then as a table."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence

from hub.config import HubConfig
from hub.history.accounting import (
    LOOKBACK_DAYS,
    Standing,
    bouts_from_influx,
    bouts_from_spool,
    day_bounds_ms,
    standings,
)


def gather(
    cfg: HubConfig, day: dt.date, tz: zoneinfo.ZoneInfo, desk: str | None, desks: Sequence[str]
) -> list[Standing]:
    """Each desk's standing for the day, from the same store the report read."""
    start_ms, end_ms = day_bounds_ms(day, tz, LOOKBACK_DAYS)
    if cfg.history.api == "none":
        bouts = bouts_from_spool(cfg.state_path(cfg.history.spool), start_ms, end_ms, desk)
    else:
        bouts = bouts_from_influx(cfg.history, start_ms, end_ms, desk)
    return standings(cfg, bouts, day, tz, [d for d in desks if desk is None or d == desk])


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}s"


def table(found: Sequence[Standing]) -> str:
    """One line per desk: the day's accounting, the week's goal and the streak."""
    lines = ["", "breaks"]
    if not found:
        lines.append("no bouts to account")
        return "\n".join(lines)
    width = max(4, *(len(s.desk) for s in found))
    lines.append(
        f"{'desk':<{width}}  at-limit  over  alerts  answered  response  compliance  week  streak"
    )
    for s in found:
        t = s.today
        shown = "-" if t.compliance is None else f"{t.compliance:.0%}"
        week = f"{s.week.met_days}/{s.week.needed}"
        lines.append(
            f"{s.desk:<{width}}  {t.limit_bouts:>8}  {t.over_limit:>4}  {t.alerts:>6}  "
            f"{t.breaks_after_alert:>8}  {_seconds(t.median_responded_s):>8}  {shown:>10}  "
            f"{week:>4}  {s.streak:>6}"
        )
    return "\n".join(lines)
