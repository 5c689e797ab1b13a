"""How one finished bout counts against the sitting rules: long enough to alert, and answered.

Shared by the break accounting (which judges the stored bouts) and by the
history points (which store the verdict on each ``sitting_bout``, so a
dashboard can count answered bouts without knowing the rules). The
definitions are in docs/history.md.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from hub.config import HubConfig
from hub.contract.vocabulary import WEEKDAYS, WORKDAYS


@dataclass(frozen=True, slots=True)
class Rules:
    """The two sitting rules the figures depend on."""

    limit_s: float = 1800.0
    escalate_after_s: float = 300.0


@dataclass(frozen=True, slots=True)
class Verdict:
    """One bout against the rules."""

    limit_bout: bool
    answered: bool

    @property
    def over_limit(self) -> bool:
        """A limit-length bout that did not end in a real break in time."""
        return self.limit_bout and not self.answered


def judge(
    duration_s: float, alerts: int, ended_by: str, responded_s: float | None, rules: Rules
) -> Verdict:
    """Whether a bout reached the limit, and whether it then ended in a real break in time.

    With an alert, in time means standing up within ``escalate_after`` of the
    first alert; a bout that got none (a pause, outside working hours) is
    judged from the limit instead: over by at most ``escalate_after``.
    """
    if duration_s < rules.limit_s:
        return Verdict(limit_bout=False, answered=False)
    if alerts:
        in_time = responded_s is not None and responded_s <= rules.escalate_after_s
    else:
        in_time = duration_s <= rules.limit_s + rules.escalate_after_s
    return Verdict(limit_bout=True, answered=ended_by == "break" and in_time)


def rules_for(cfg: HubConfig) -> Callable[[str], Rules]:
    """A function giving each desk's Rules: its own ``limit`` or ``sitting.limit``."""
    sitting = cfg.sitting

    def rules_of(desk: str) -> Rules:
        own = cfg.desks.get(desk)  # not cfg.desk(): that builds a fresh section each call
        limit = own.limit if own is not None and own.limit else sitting.limit
        return Rules(limit, sitting.escalate_after)

    return rules_of


def workdays_for(cfg: HubConfig, desk: str | None = None) -> tuple[str, ...]:
    """The desk's working days: its own schedule, its site's, the hub's, or Monday to Friday."""
    own = cfg.desks.get(desk) if desk else None
    schedule = (
        (own.schedule if own else None)
        or (cfg.sites.get(own.site) if own else None)
        or cfg.schedule
    )
    return tuple(schedule.days) if schedule else WORKDAYS


def day_zone(cfg: HubConfig) -> zoneinfo.ZoneInfo:
    """The time zone whose days the accounting counts: the hub's ``schedule.timezone``."""
    return zoneinfo.ZoneInfo(cfg.schedule.timezone if cfg.schedule else "UTC")


def on_workday(cfg: HubConfig, desk: str, ts: float) -> bool:
    """Whether ts falls on one of the desk's working days, in the days the accounting counts.

    Stored with each bout, so a dashboard's streak and goal days count the
    working days the report counts without knowing the schedule.
    """
    day = dt.datetime.fromtimestamp(ts, day_zone(cfg)).weekday()
    return WEEKDAYS[day] in workdays_for(cfg, desk)
