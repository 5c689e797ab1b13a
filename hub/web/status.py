"""The hub service seen through the status page's narrow ``StatusSource`` protocol.

The service keeps its own types; this adapter turns them into the page's
``DeskView`` and flat counters, and passes ``pause`` through, so neither side
imports the other's internals. It is also the hub's ``OperationsSource``: the
checks behind ``/healthz`` and the operational numbers behind ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Mapping
from typing import Any, Final, Protocol

from hub.core.registry import DeskEntry
from hub.core.service import HubService
from hub.web import tare as tare_api
from hub.web.ops import Check, Operations
from hub.web.source import DeskView

# The owner thread takes a batch at least every half second when idle; a batch of
# a whole fleet's restore may take seconds. Longer than this, it is stuck.
OWNER_STALE_S: Final = 30.0


class HistoryHealth(Protocol):
    """What health and metrics read from the history (``hub.history.History`` fits)."""

    @property
    def server_configured(self) -> bool:
        """Whether points leave the machine."""
        ...

    def stats(self) -> dict[str, Any]:
        """Spool size and age, dead letters and counts."""
        ...

    def writer_health(self) -> tuple[bool, str]:
        """Whether the writer is moving, and a reason."""
        ...


def _view(s: DeskEntry) -> DeskView:
    """One desk of the service as the page's value (``changed``: when it was read)."""
    return DeskView(
        desk=s.view.desk,
        state=s.view.state,
        seated_s=s.view.seated_s,
        level=s.view.level,
        since=s.view.since,
        online=s.view.online,
        site=s.site,
        floor=s.floor,
        zone=s.zone,
        changed=s.view.ts,
    )


class ServiceSource:
    """Reads the running service for the status page, /healthz and /metrics."""

    def __init__(self, service: HubService, history: HistoryHealth | None = None) -> None:
        self.service = service
        self.history = history

    def snapshot(self) -> list[DeskView]:
        """Every desk the hub knows, as of now, with its chair's drift when it reports one."""
        return tare_api.with_drift([_view(s) for s in self.service.views()], self.service.drifts())

    def changed_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskView]]:
        """Every desk's mark, and the views of those that changed (``ChangeSource``)."""
        return tare_api.changed_since(self.service, marks, _view)

    def asked(self) -> dict[str, dict[tuple[str, str], int]]:
        """Commands asked of the hub (API, Home Assistant) and their matched acks, counted."""
        return self.service.requests.snapshot()

    def tare(self, desk: str) -> tare_api.TareAnswer:
        """Send ``tare`` to a desk's chair and wait for its ack (the API's tare)."""
        return tare_api.ask(self.service, desk)

    def counters(self) -> Mapping[str, float]:
        """Totals for /metrics, with drops both summed and by reason."""
        counts = self.service.counters.snapshot()
        dropped: dict[str, int] = counts["dropped"]
        out: dict[str, float] = {
            "messages_in": counts["messages_in"],
            "messages_dropped": sum(dropped.values()),
            "alerts_out": counts["alerts_out"],
            "alerts_acked": counts["alerts_acked"],
            "acks_unknown": counts["acks_unknown"],
        }
        out.update({f"dropped_{reason}": n for reason, n in dropped.items()})
        out.update({f"mqtt_refused_{reason}": n for reason, n in self._refused().items()})
        return out

    def _refused(self) -> dict[str, int]:
        """What the broker refused, or the transport would not send, by reason."""
        refusals = getattr(self.service.transport, "refusals", None)
        return dict(refusals.snapshot()) if refusals is not None else {}

    def pause(self, desk: str) -> None:
        """Pause a desk for the configured time (the page's pause button)."""
        self.service.pause(desk)

    def health(self) -> dict[str, Check]:
        """The broker connection, the owner thread and the history writer."""
        mqtt = self.service.cfg.mqtt
        where = f"{mqtt.host}:{mqtt.port}"
        if self.service.connected:
            broker = Check(ok=True, detail=f"connected to {where}")
        else:
            broker = Check(ok=False, detail=f"not connected to the broker at {where}")
        checks = {"broker": broker, "owner": self._owner()}
        if self.history is not None:
            ok, why = self.history.writer_health()
            checks["history"] = Check(ok=ok, detail=why)
        return checks

    def _owner(self) -> Check:
        if not self.service.running:
            return Check(ok=False, detail="the owner thread is not running")
        last = self.service.last_step
        if last is None:
            return Check(ok=False, detail="the owner thread has not taken a batch yet")
        age = time.monotonic() - last
        if age > OWNER_STALE_S:
            return Check(ok=False, detail=f"the owner thread's last batch was {age:.0f} s ago")
        return Check(ok=True, detail=f"last batch {age:.1f} s ago")

    def operations(self) -> Operations:
        """Connection, commands, notifications and the spool, as of now."""
        counts = self.service.counters.snapshot()
        connects = int(getattr(self.service.transport, "connects", 0))
        backlog: int | None = None
        oldest: float | None = None
        written = 0
        dead: int | None = None
        if self.history is not None:
            stats = self.history.stats()
            backlog = (stats["spool_rows"] or 0) if self.history.server_configured else 0
            oldest = stats["oldest_unsent_s"]
            written = int(stats["written"])
            dead = stats["dead_letters"]
        return Operations(
            mqtt_connected=self.service.connected,
            mqtt_reconnects=max(0, connects - 1),
            mqtt_refused=self._refused(),
            commands_sent={"alert": counts["alerts_out"], "clear": counts["clears_out"]},
            commands_refused=counts["commands_refused"],
            notifications=dict(counts["notifications"]),
            spool_backlog=backlog,
            spool_oldest_s=oldest,
            history_written=written,
            dead_letters=dead,
        )
