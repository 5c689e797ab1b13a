"""The numbers one desk is judged by, from the configuration: limit, break, escalation, snooze.

Strict mode is ``max_snoozes = 0``: a press never silences an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hub.config import HubConfig
from hub.core.schedule import for_desk
from hub.integrations.calendar import Calendar, CalendarHours


class Hours(Protocol):
    """What the rules need from a schedule (``hub.core.schedule.WorkingHours`` has it)."""

    def is_open(self, ts: float) -> bool:
        """Whether alerts are allowed at ts."""

    def next_open(self, ts: float) -> float | None:
        """First instant at or after ts when alerts are allowed."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The numbers one desk is judged by, in seconds."""

    limit: float = 1800.0
    min_break: float = 120.0
    escalate_after: float = 300.0
    snooze: float = 600.0
    max_snoozes: int = 3
    pause: float = 3600.0
    telemetry_period: float = 60.0
    hours: Hours | None = None

    @classmethod
    def for_desk(cls, cfg: HubConfig, desk_id: str) -> Rules:
        """Global rules with the desk's own overrides and schedule laid over them."""
        sitting = cfg.sitting
        desk = cfg.desk(desk_id)
        hours: Hours | None = for_desk(cfg, desk_id)
        if desk.calendar is not None:  # busy events pause alerts like a long press
            source = desk.calendar.get_secret_value()
            cache = cfg.state_path(f"calendar-{desk_id}.ics")
            hours = CalendarHours(Calendar(source, cache, background=True), hours)
        return cls(
            limit=desk.limit or sitting.limit,
            min_break=desk.min_break or sitting.min_break,
            escalate_after=sitting.escalate_after,
            snooze=sitting.snooze,
            max_snoozes=0 if sitting.strict else sitting.max_snoozes,
            pause=sitting.pause,
            telemetry_period=sitting.telemetry_period,
            hours=hours,
        )
