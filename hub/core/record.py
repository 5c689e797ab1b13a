"""What one desk remembers: its bout and its state, as plain records a checkpoint can save."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any


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


def to_plain(s: DeskRecord) -> dict[str, Any]:
    """A JSON-ready copy of a record: what the checkpoint stores, as plain data."""
    data = {name: getattr(s, name) for name in STATE_FIELDS}
    if s.bout is not None:
        data["bout"] = {name: getattr(s.bout, name) for name in BOUT_FIELDS}
    if data["last_ts"] == -math.inf:
        data["last_ts"] = None
    return data


def from_plain(data: dict[str, Any]) -> DeskRecord:
    """The record ``to_plain`` copied (missing fields take their defaults)."""
    bout = data.get("bout")
    last_ts = data.get("last_ts")
    return DeskRecord(
        seated=bool(data.get("seated", False)),
        vacant_since=data.get("vacant_since"),
        online=bool(data.get("online", True)),
        offline_since=data.get("offline_since"),
        last_heard=data.get("last_heard"),
        heard_telemetry=bool(data.get("heard_telemetry", False)),
        paused_until=float(data.get("paused_until", 0.0)),
        last_ts=-math.inf if last_ts is None else float(last_ts),
        bout=Bout(**bout) if isinstance(bout, dict) else None,
    )
