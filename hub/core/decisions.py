"""What the sitting state machine decides: alert, clear, publish the view, or record a fact."""

from __future__ import annotations

from dataclasses import dataclass

from hub.contract.vocabulary import StateName
from hub.core.facts import AlertSent, BoutEnded, Snoozed


@dataclass(frozen=True, slots=True)
class SittingView:
    """The hub's view of a desk, as published on ``P/D/sitting`` and shown on the status page."""

    desk: str
    state: StateName
    seated_s: float
    level: int
    since: float | None
    ts: float
    online: bool


@dataclass(frozen=True, slots=True)
class SendAlert:
    """Alert the chair: the command to send and the fact to record, as one decision.

    ``resumed`` marks the re-alert after sitting back down; ``fact`` is what
    history keeps (and what the chair's ack later marks as acknowledged).
    """

    desk: str
    level: int
    seated_s: float
    fact: AlertSent
    resumed: bool = False


@dataclass(frozen=True, slots=True)
class SendClear:
    """Tell the chair to stop alerting."""

    desk: str


@dataclass(frozen=True, slots=True)
class PublishState:
    """The view changed: publish it (retained)."""

    view: SittingView


Decision = SendAlert | SendClear | PublishState | BoutEnded | Snoozed
