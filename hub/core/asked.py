"""The service's commands asked for by others: the API's tare, Home Assistant's requests.

A mixin of ``HubService``, kept apart so the owner loop stays one idea: a
``P/D/request`` (Home Assistant's identify, re-tare, pause and resume buttons) is
checked and carried out, an asked-for command is sent through the batch
commit under its own id (or refused: no such desk, chair offline), and the
chair's ack to it is matched in ``requests.CommandBook`` instead of being
counted as unknown. The drift log lines live here too.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from hub import log as hublog
from hub.contract import protocol
from hub.core.requests import Pending
from hub.errors import ProtocolError

if TYPE_CHECKING:
    from collections.abc import Callable

    from hub.config import HubConfig
    from hub.core.commit import BatchCommit
    from hub.core.counters import Counters
    from hub.core.drift import DriftBook
    from hub.core.intake import RequestOffer
    from hub.core.registry import DeskRegistry
    from hub.core.requests import CommandBook
    from hub.core.sitting import Decision, Desk

logger = logging.getLogger("hub.core.service")


class AskedCommands:
    """Requests and asked-for commands, on the owner thread (``HubService`` provides the rest)."""

    cfg: HubConfig
    clock: Callable[[], float]
    commit: BatchCommit
    counters: Counters
    drift: DriftBook
    registry: DeskRegistry
    requests: CommandBook

    def _drop(self, reason: str, detail: str) -> None:
        raise NotImplementedError

    def _apply(self, desk: Desk, decisions: list[Decision], now: float) -> None:
        raise NotImplementedError

    def _request(self, offer: RequestOffer) -> None:
        """``P/D/request``: identify and tare through the chair, pause and resume on the hub."""
        inbound = offer.inbound
        try:
            req = protocol.parse_request(offer.where.desk, inbound.payload, inbound.topic)
        except ProtocolError as exc:
            self._drop("bad_request", str(exc))
            return
        desk = self.registry.get(req.desk)
        if desk is None:
            self._drop("unknown_desk", inbound.topic)
            return
        if self.requests.knows(req.id):  # QoS 1 may deliver a request twice
            self._drop("duplicate", f"{req.desk} request {req.id[:64]}")
            return
        now = self.clock()
        pending = Pending(req.desk, req.action, "homeassistant", req.id)
        if req.action in ("identify", "tare"):  # the chair's to do: sent under the id
            self._send_asked(pending, now)
            return
        self.requests.asked(pending)
        pending.finish(True)
        seconds = self.cfg.sitting.pause if req.action == "pause" else 0.0
        self._apply(desk, desk.pause(seconds, now) + desk.on_tick(now), now)

    def _send_asked(self, pending: Pending, now: float) -> None:
        """Send an asked-for command through the batch, or refuse it (no such desk, offline)."""
        desk = self.registry.get(pending.desk)
        if desk is None:
            pending.finish(False, f"no desk {pending.desk[:60]!r}")
            return
        if not desk.view(now).online:
            pending.finish(False, "the chair is offline")
            return
        pending.sent = True
        self.requests.asked(pending)
        self.commit.publish(
            protocol.device_topic(self.registry.prefix_of[pending.desk], pending.desk, "cmd"),
            protocol.command(pending.action, pending.id),
        )
        logger.info(
            "%s sent (%s, asked by %s)",
            pending.action,
            pending.id,
            pending.origin,
            extra=hublog.desk(pending.desk),
        )

    def _asked_ack(self, ack: protocol.Ack) -> bool:
        """Whether the ack answers an asked-for command (then it is matched here)."""
        pending = self.requests.on_ack(ack)
        if pending is None:
            return False
        if not ack.ok:
            self.counters.add("commands_refused")  # as every refusal a chair sends
        logger.info(
            "%s %s: %s",
            pending.action,
            "done" if ack.ok else "refused",
            ack.error or "ok",
            extra=hublog.desk(ack.desk),
        )
        return True

    def _log_drift(self, desk_id: str) -> None:
        drift = self.drift.get(desk_id)
        if drift is None:
            return
        if drift.needs_retare:
            logger.warning(
                "drift %.0f is beyond max_drift %.0f: the chair needs a re-tare",
                drift.value,
                drift.limit,
                extra=hublog.desk(desk_id),
            )
        else:
            logger.info(
                "drift %.0f is back within max_drift", drift.value, extra=hublog.desk(desk_id)
            )
