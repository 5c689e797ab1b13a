"""The hub service seen through the status page's narrow ``StatusSource`` protocol.

The service keeps its own types; this adapter turns them into the page's
``DeskView`` and flat counters, and passes ``pause`` through, so neither side
imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Mapping

from hub.core.service import HubService
from hub.web.source import DeskView


class ServiceSource:
    """Reads the running service for the status page and /metrics."""

    def __init__(self, service: HubService) -> None:
        self.service = service

    def snapshot(self) -> list[DeskView]:
        """Every desk the hub knows, as of now."""
        return [
            DeskView(
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
            for s in self.service.views()
        ]

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
        return out

    def pause(self, desk: str) -> None:
        """Pause a desk for the configured time (the page's pause button)."""
        self.service.pause(desk)
