"""When a desk's clock next matters: pure functions of its record, its rules and the time.

``hub.core.sitting.Desk`` asks these how long the current bout has run, whether
an alert may leave now and when ``on_tick`` next has something to do; the rules
they follow are the ones in that module's docstring. Nothing here changes the
record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.core.record import DeskRecord
    from hub.core.rules import Rules

GAP_PERIODS = 3
"""Silent telemetry periods after which a chair that has sent telemetry counts as offline."""


def bout_time(s: DeskRecord, now: float) -> float:
    """Seconds of the current bout, short stands included, offline time left out."""
    bout = s.bout
    if bout is None:
        return 0.0
    end = s.offline_since if s.offline_since is not None else now
    return max(0.0, end - bout.start - bout.frozen_s)


def alerts_allowed(s: DeskRecord, rules: Rules, t: float) -> bool:
    """Whether an alert may leave at t: not paused, and inside working hours."""
    hours = rules.hours
    return t >= s.paused_until and (hours is None or hours.is_open(t))


def next_alert_after(rules: Rules, level: int, bout_s: float) -> float:
    """Bout time of the next alert for a bout rebuilt at ``level`` after ``bout_s`` seconds."""
    if level == 0:
        return rules.limit
    return max(rules.limit, bout_s) + rules.escalate_after


def alert_due_at(s: DeskRecord, rules: Rules, now: float) -> float | None:
    """Wall time of the next alert, taking pause and working hours into account."""
    bout = s.bout
    if bout is None:
        return None
    due = bout.start + bout.frozen_s + bout.next_alert_bt
    due = max(due, s.paused_until)
    hours = rules.hours
    if hours is not None and not hours.is_open(max(due, now)):
        return hours.next_open(max(due, now))
    return due


def next_deadline(s: DeskRecord, rules: Rules, now: float) -> float | None:
    """When ``on_tick`` next has something to do, or None if only an event can change things."""
    bout = s.bout
    candidates: list[float] = []
    if s.online and s.heard_telemetry and s.last_heard is not None:
        candidates.append(s.last_heard + GAP_PERIODS * rules.telemetry_period)
    if now < s.paused_until:
        candidates.append(s.paused_until)
    if bout is not None:
        if not s.online and s.offline_since is not None:
            candidates.append(s.offline_since + rules.min_break)
        elif not s.seated and s.vacant_since is not None:
            candidates.append(s.vacant_since + rules.min_break)
        elif s.seated:
            due = alert_due_at(s, rules, now)
            if due is not None:
                candidates.append(due)
    return min(candidates) if candidates else None
