"""What ``/healthz`` and ``/metrics`` need from a running hub, beyond the page's desks.

The status page reads desks and counters from a ``StatusSource``. A hub that
runs for real also answers ``OperationsSource``: named health checks (broker
connection, owner thread, history writer) and the operational numbers a
scraper wants (connection, reconnects, commands, notifications, the spool).
A page without one (a stand-in source in a test, a screenshot) reports only
its own poller's health.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Check:
    """One health check: whether it passes, and a short reason either way (never a secret)."""

    ok: bool
    detail: str

    def as_json(self) -> dict[str, object]:
        """The check as ``/healthz`` shows it."""
        return {"ok": self.ok, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Operations:
    """The hub's operational numbers at one instant, for ``/metrics``."""

    mqtt_connected: bool
    mqtt_reconnects: int = 0
    mqtt_refused: Mapping[str, int] = field(default_factory=dict)  # by reason: packet_too_large ...
    commands_sent: Mapping[str, int] = field(default_factory=dict)  # by command: alert, clear
    commands_refused: int = 0  # commands a chair answered with ok=false
    notifications: Mapping[str, int] = field(default_factory=dict)  # by result: sent, failed ...
    spool_backlog: int | None = None  # points waiting for the history server
    spool_oldest_s: float | None = None  # age of the oldest of them
    history_written: int = 0
    dead_letters: int | None = None


@runtime_checkable
class OperationsSource(Protocol):
    """A running hub, as health and metrics see it."""

    def health(self) -> Mapping[str, Check]:
        """Every check by name; the hub is healthy when all pass."""
        ...

    def operations(self) -> Operations:
        """The numbers for ``/metrics``, as of now."""
        ...


def healthy(checks: Mapping[str, Check]) -> bool:
    """All checks pass (no checks at all is healthy: nothing is wrong)."""
    return all(check.ok for check in checks.values())
