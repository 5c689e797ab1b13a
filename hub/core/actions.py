"""Actions: the state machine's decisions carried out through one batch commit.

An alert is one decision that carries both the command for the chair and
the fact for history; the command's id is remembered with that fact so the
chair's ack can mark the same history point as acknowledged. Clears and the
retained ``sitting`` views go out the same way, and facts go to history.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace

from hub import log as hublog
from hub.config import HubConfig
from hub.contract import protocol
from hub.core import alerts
from hub.core.commit import BatchCommit
from hub.core.counters import Counters
from hub.core.facts import AlertSent, BoutEnded, Snoozed
from hub.core.ports import HistoryStore
from hub.core.sitting import Decision, PublishState, SendAlert, SendClear
from hub.integrations import notify

logger = logging.getLogger(__name__)

RECENT_COMMANDS = 4096


class RecentCommands:
    """The last few thousand commands sent, so a device's ack can be matched to its alert.

    An alert maps to the fact recorded when it was sent; a clear maps to
    None (its ack is expected, not worth recording). Bounded: the oldest
    entries go first, and an ack that old is simply not matched.
    """

    def __init__(self, size: int = RECENT_COMMANDS) -> None:
        self.size = size
        self._sent: OrderedDict[str, tuple[str, AlertSent | None]] = OrderedDict()

    def remember(self, cmd_id: str, desk_id: str, alert: AlertSent | None) -> None:
        """Keep one command id, forgetting the oldest beyond the bound."""
        self._sent[cmd_id] = (desk_id, alert)
        while len(self._sent) > self.size:
            self._sent.popitem(last=False)

    def acked(self, cmd_id: str, desk_id: str) -> tuple[bool, AlertSent | None]:
        """Whether the id is one we sent to this desk, and its alert the first time it is acked."""
        found = self._sent.get(cmd_id)
        if found is None or found[0] != desk_id:
            return False, None
        self._sent[cmd_id] = (desk_id, None)  # a redelivered ack records nothing more
        return True, found[1]

    def __len__(self) -> int:
        return len(self._sent)


class Actions:
    """Turns decisions into commands, views, notifications and history facts."""

    def __init__(
        self, cfg: HubConfig, history: HistoryStore, counters: Counters, commit: BatchCommit
    ) -> None:
        self.cfg = cfg
        self.history = history
        self.counters = counters
        self.commit = commit
        self.moves = alerts.MoveRotation()
        self.ids = alerts.CommandIds()
        self.recent = RecentCommands()
        # Held by carry_out while due deadlines are sent, for catch_up.
        self._later: list[tuple[str, str, list[Decision]]] = []
        self._sent: list[tuple[str, str]] = []  # (movement, command id) of each alert held

    def carry_out(self, prefix: str, desk_id: str, decisions: list[Decision]) -> None:
        """Do what the desk decided, in order, through the batch commit.

        While the commit sends due deadlines (``BatchCommit.holding``), only
        the chair's commands are made now; the rest of the desk's decisions
        (views, notifications, facts, the ack's memory) wait for ``catch_up``,
        so the first alerts of a rush leave before the last desk is worked out.
        """
        if self.commit.holding:
            self._commands_first(prefix, desk_id, decisions)
            return
        for decision in decisions:
            if isinstance(decision, SendAlert):
                self._alert(decision, *self._command(prefix, decision))
            elif isinstance(decision, SendClear):
                self._clear(prefix, desk_id)
            else:
                self._carry(prefix, desk_id, decision)

    def catch_up(self) -> None:
        """Everything but the commands of the decisions ``carry_out`` held, in their order."""
        later, self._later = self._later, []
        sent, self._sent = iter(self._sent), []
        for prefix, desk_id, decisions in later:
            for decision in decisions:
                if isinstance(decision, SendAlert):
                    self._alert(decision, *next(sent))
                elif not isinstance(decision, SendClear):
                    self._carry(prefix, desk_id, decision)

    def _commands_first(self, prefix: str, desk_id: str, decisions: list[Decision]) -> None:
        for decision in decisions:
            if isinstance(decision, SendAlert):
                self._sent.append(self._command(prefix, decision))
            elif isinstance(decision, SendClear):
                self._clear(prefix, desk_id)
        self._later.append((prefix, desk_id, decisions))

    def _carry(self, prefix: str, desk_id: str, decision: Decision) -> None:
        """A decision that is neither an alert nor a clear: a view or a fact."""
        if isinstance(decision, PublishState):
            view = decision.view
            self.commit.publish(
                protocol.device_topic(prefix, desk_id, "sitting"),
                protocol.sitting_state(view.state, view.seated_s, view.level, view.since, view.ts),
                retain=True,
            )
        elif isinstance(decision, BoutEnded | Snoozed):
            self.commit.record(decision)

    def _clear(self, prefix: str, desk_id: str) -> None:
        clear_id = self.ids.next()
        self.recent.remember(clear_id, desk_id, None)
        self.commit.publish(
            protocol.device_topic(prefix, desk_id, "cmd"), alerts.clear_command(clear_id)
        )
        self.counters.add("clears_out")

    def _command(self, prefix: str, alert: SendAlert) -> tuple[str, str]:
        """Command the chair to alert; the movement suggested and the command's id."""
        desk_id = alert.desk
        move = self.moves.next(desk_id)
        cmd_id = self.ids.next()
        self.commit.publish(
            protocol.device_topic(prefix, desk_id, "cmd"),
            alerts.alert_command(cmd_id, alert.level, move),
        )
        return move, cmd_id

    def _alert(self, alert: SendAlert, move: str, cmd_id: str) -> None:
        """The rest of a commanded alert: count, log, notify people, record under the id."""
        desk_id = alert.desk
        self.counters.add("alerts_out")
        logger.info(
            "alert level %d after %.0f s seated",
            alert.level,
            alert.seated_s,
            extra=hublog.desk(desk_id),
        )
        own = self.cfg.desks.get(desk_id)  # cfg.desk() would build a default section per call
        urls = [u.get_secret_value() for u in (*self.cfg.notify.urls, *(own.notify if own else ()))]
        if urls:
            self.commit.notify(
                notify.alert_notification(desk_id, alert.level, alert.seated_s, move, urls)
            )
        self.recent.remember(cmd_id, desk_id, alert.fact)
        self.commit.record(alert.fact)

    def on_ack(self, ack: protocol.Ack) -> None:
        """Record that a chair took an alert: the same point again, now ``acked``."""
        if not ack.ok:
            self.counters.add("commands_refused")
            logger.info(
                "device refused command %s: %s", ack.id, ack.error, extra=hublog.desk(ack.desk)
            )
            return
        known, alert = self.recent.acked(ack.id, ack.desk)
        if not known:
            self.counters.add("acks_unknown")
            return
        if alert is not None:
            # Same desk, time and level: the history store overwrites the point.
            self.history.record(replace(alert, acked=True))
            self.counters.add("alerts_acked")
