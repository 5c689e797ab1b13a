"""What happened, as the hub's core reports it to the history and the status page.

The sitting state machine and the service produce these; ``hub.history`` turns
them into InfluxDB points and the status page into live updates. Timestamps
are event times (device time when sane), so writing a fact twice yields the
same point and InfluxDB overwrites instead of duplicating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from hub.contract.protocol import Telemetry


@dataclass(frozen=True, slots=True)
class OccupancyChanged:
    """A desk turned seated or vacant."""

    desk: str
    ts: float
    seated: bool
    seq: int
    value: float


@dataclass(frozen=True, slots=True)
class BoutEnded:
    """A sitting bout finished: by a real break, by the device going offline, or at day end."""

    desk: str
    start: float
    end: float
    ended_by: Literal["break", "offline", "day_end"]
    alerts: int
    snoozes: int
    max_level: int
    responded_s: float | None  # first alert of the bout to standing up, None if no alert

    @property
    def duration_s(self) -> float:
        """Seated time from the start of the bout to its end (short stands included)."""
        return max(0.0, self.end - self.start)


@dataclass(frozen=True, slots=True)
class AlertSent:
    """The hub told a chair to alert. ``acked`` turns true when the device acknowledges."""

    desk: str
    ts: float
    level: int
    seated_s: float
    acked: bool = False


@dataclass(frozen=True, slots=True)
class Snoozed:
    """The person pressed the button: short snoozes, long pauses."""

    desk: str
    ts: float
    press: Literal["short", "long"]


@dataclass(frozen=True, slots=True)
class TelemetryReceived:
    """A device heartbeat, with its receive-or-device time."""

    desk: str
    ts: float
    telemetry: Telemetry


@dataclass(frozen=True, slots=True)
class DeskSample:
    """A desk's state at a sample instant (one per desk per ``history.sample_period``)."""

    desk: str
    ts: float
    occupied: bool
    seated_s: float
    online: bool


Fact = OccupancyChanged | BoutEnded | AlertSent | Snoozed | TelemetryReceived
