"""What one desk remembers: its bout and its state, as plain records a checkpoint can save."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(slots=True)
class Bout:
    """One sitting bout. Times are unix seconds; ``*_bt`` are seconds of bout time."""

    start: float
    frozen_s: float = 0.0
    level: int = 0
    alerts: int = 0
    snoozes: int = 0
    next_alert_bt: float = 0.0
    first_alert: float | None = None
    responded: float | None = None
    alert_active: bool = False
    snoozed: bool = False


@dataclass(slots=True)
class DeskRecord:
    """Everything a desk remembers; a plain record so a checkpoint can save and restore it."""

    seated: bool = False
    vacant_since: float | None = None
    online: bool = True
    offline_since: float | None = None
    last_heard: float | None = None
    heard_telemetry: bool = False
    paused_until: float = 0.0
    last_ts: float = -math.inf
    bout: Bout | None = None


STATE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(DeskRecord))
BOUT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(Bout))
