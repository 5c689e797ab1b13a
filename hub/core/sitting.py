"""The sitting rules for one desk, as a pure state machine.

Events and clock ticks go in, decisions come out; nothing here touches the
network, the disk or the clock, so every rule can be checked by feeding times
by hand. The service owns one ``Desk`` per desk id, asks ``next_deadline`` when
to tick it, and carries out the decisions.

The rules, in the words of docs/protocol.md and the README:

* A bout starts when the desk turns seated. A vacancy shorter than
  ``min_break`` does not end it (the bout clock keeps running through short
  stands); a vacancy of at least ``min_break`` ends it with ``break``.
* At ``limit`` of bout time the hub alerts at level 1, then one level higher
  every ``escalate_after`` while still seated, repeating level 3 from then on.
  An alert is never sent to a vacant or offline desk, and at most one alert
  leaves per tick, so a clock jump cannot burst several.
* Standing up clears the alert at once. Sitting back down before
  ``min_break`` re-alerts at the level already reached: the break was not real.
* A short press while alerting snoozes: the alert clears and the next one
  (the next level) comes ``snooze`` later, at most ``max_snoozes`` per bout.
  A long press (or the API) pauses alerts for ``pause``; time still counts.
* Outside working hours no alert is sent; the first one due comes when the
  hours open.
* A device that goes offline freezes its bout clock; offline for at least
  ``min_break`` ends the bout with ``offline``. Once a device has sent
  telemetry, three silent periods count as going offline at the last message.

The clock's questions (how long a bout has run, when an alert is due, when
to tick next) are answered in ``hub.core.deadlines``; what a desk remembers,
and its plain form for the checkpoint, is ``hub.core.record``.
"""

from __future__ import annotations

from typing import Any, Literal

from hub.contract.vocabulary import MAX_LEVEL, StateName
from hub.core.deadlines import (
    GAP_PERIODS,
    alerts_allowed,
    bout_time,
    next_alert_after,
    next_deadline,
)
from hub.core.decisions import Decision, PublishState, SendAlert, SendClear, SittingView
from hub.core.facts import AlertSent, BoutEnded, Snoozed
from hub.core.record import Bout, DeskRecord, from_plain, to_plain
from hub.core.rules import Hours, Rules

__all__ = [
    "MAX_LEVEL",
    "Decision",
    "Desk",
    "Hours",
    "PublishState",
    "Rules",
    "SendAlert",
    "SendClear",
    "SittingView",
]


class Desk:
    """One desk's sitting state. Every method takes the time; none reads a clock."""

    # A campus hub holds one of these per desk; slots keep each one small.
    __slots__ = ("_published", "_s", "desk_id", "rules")

    def __init__(self, desk_id: str, rules: Rules) -> None:
        self.desk_id = desk_id
        self.rules = rules
        self._s = DeskRecord()
        self._published: tuple[object, ...] | None = None

    @property
    def shown(self) -> tuple[object, ...] | None:
        """What the desk's view last showed (state, level, bout start, online); None until then.

        It moves exactly when the retained ``sitting`` view is published again,
        so a status page compares it instead of building every desk's view.
        """
        return self._published

    @property
    def seated(self) -> bool:
        """Whether the seat is taken, as last reported."""
        return self._s.seated

    @property
    def online(self) -> bool:
        """Whether the chair is online, as last reported or inferred."""
        return self._s.online

    # ---- events -----------------------------------------------------------------

    def on_occupancy(self, seated: bool, ts: float) -> list[Decision]:
        """The device reports a debounced transition at event time ts."""
        t = self._event_time(ts)
        out = self._settle(t)
        self._heard(t)
        if seated != self._s.seated:
            self._s.seated = seated
            if seated:
                self._sat_down(t, out)
            else:
                self._stood_up(t, out)
        out += self._publish(t)
        return out

    def on_button(self, press: Literal["short", "long"], ts: float) -> list[Decision]:
        """A button press: short snoozes the current alert, long pauses alerts."""
        t = self._event_time(ts)
        out = self._settle(t)
        self._heard(t)
        out.append(Snoozed(self.desk_id, t, press))
        bout = self._s.bout
        if press == "long":
            self._pause_until(t + self.rules.pause, out)
        elif bout is not None and bout.alert_active and bout.snoozes < self.rules.max_snoozes:
            bout.snoozes += 1
            bout.snoozed = True
            bout.alert_active = False
            bout.next_alert_bt = bout_time(self._s, t) + self.rules.snooze
            out.append(SendClear(self.desk_id))
        out += self._publish(t)
        return out

    def pause(self, seconds: float, ts: float) -> list[Decision]:
        """Silence alerts for ``seconds`` from ts (0 resumes them). The hub's API uses this."""
        t = self._event_time(ts)
        out = self._settle(t)
        self._pause_until(t + max(0.0, seconds), out)
        out += self._publish(t)
        return out

    def on_status(self, online: bool, ts: float) -> list[Decision]:
        """The device's retained ``online`` / ``offline`` (its last will)."""
        t = self._event_time(ts)
        out = self._settle(t)
        if online:
            self._heard(t)
        elif self._s.online:
            self._go_offline(t)
        out += self._publish(t)
        return out

    def on_telemetry(self, ts: float) -> list[Decision]:
        """A heartbeat: the device is alive, and from now on silence means offline."""
        t = self._event_time(ts)
        out = self._settle(t)
        self._heard(t)
        self._s.heard_telemetry = True
        out += self._publish(t)
        return out

    def on_tick(self, now: float) -> list[Decision]:
        """Let time pass to ``now``: end bouts, send at most one due alert."""
        out = self._settle(now)
        self._maybe_alert(now, out)
        out += self._publish(now)
        return out

    def resume(self, now: float) -> None:
        """After a hub restart: the hub's own absence is no evidence the device went silent."""
        if self._s.last_heard is not None:
            self._s.last_heard = max(self._s.last_heard, now)
        # The broker holds the view last sent, as far as the checkpoint knows; an event that
        # changes nothing sends no copy of it. ``show_again`` is for a view it does not hold.
        self._published = self._shown_at(now)

    def show_again(self) -> None:
        """The broker does not hold this desk's view as it stands: the next tick sends it."""
        self._published = None

    # ---- questions ----------------------------------------------------------------

    def bout_time(self, now: float) -> float:
        """Seconds of the current bout, short stands included, offline time left out."""
        return bout_time(self._s, now)

    def state(self, now: float) -> StateName:
        """The one word that sums the desk up for ``P/D/sitting``."""
        bout = self._s.bout
        if not self._s.online:
            return "offline"
        if not self._s.seated:
            return "vacant"
        if now < self._s.paused_until:
            return "paused"
        if bout is not None and bout.alert_active:
            return "alerting"
        if bout is not None and bout.snoozed:
            return "snoozed"
        return "seated"

    def view(self, now: float) -> SittingView:
        """The desk as the outside world sees it at ``now``."""
        bout = self._s.bout
        return SittingView(
            desk=self.desk_id,
            state=self.state(now),
            seated_s=bout_time(self._s, now),
            level=bout.level if bout else 0,
            since=bout.start if bout else None,
            ts=now,
            online=self._s.online,
        )

    @property
    def level(self) -> int:
        """The last alert level of the current bout, 0 for none."""
        return self._s.bout.level if self._s.bout else 0

    def next_deadline(self, now: float) -> float | None:
        """When ``on_tick`` next has something to do, or None if only an event can change things."""
        return next_deadline(self._s, self.rules, now)

    # ---- checkpoint ---------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of ``record``: what the checkpoint stores, as plain data."""
        return to_plain(self._s)

    @property
    def record(self) -> object:
        """The live record ``snapshot`` copies, for a checkpoint written before it next changes.

        orjson encodes it as it stands (dataclasses natively, -inf as null) to
        the same JSON as ``snapshot``, without building the dictionaries: the
        hub saves every desk a batch of messages changed.
        """
        return self._s

    def restore(self, data: dict[str, Any]) -> None:
        """Carry on from a ``snapshot``."""
        self._s = from_plain(data)
        self._published = None

    def seed(self, since: float, level: int, now: float) -> None:
        """Rebuild a bout from the retained ``sitting`` message when there is no checkpoint."""
        if self._s.bout is not None or since > now:
            return
        level = max(0, min(MAX_LEVEL, level))
        self._s.seated = True
        self._s.bout = Bout(
            start=since,
            level=level,
            alerts=level,
            next_alert_bt=next_alert_after(self.rules, level, now - since),
        )
        self._s.last_ts = max(self._s.last_ts, since)

    # ---- internals ----------------------------------------------------------------

    def _event_time(self, ts: float) -> float:
        """Events apply in order: one older than the last is moved up to the last one's time."""
        t = max(ts, self._s.last_ts)
        self._s.last_ts = t
        return t

    def _heard(self, t: float) -> None:
        s = self._s
        s.last_heard = t if s.last_heard is None else max(s.last_heard, t)
        if not s.online:
            if s.bout is not None and s.offline_since is not None:
                s.bout.frozen_s += max(0.0, t - s.offline_since)
            s.online = True
            s.offline_since = None
            if s.bout is None and s.seated:
                s.bout = Bout(start=t, next_alert_bt=self.rules.limit)

    def _go_offline(self, t: float) -> None:
        self._s.online = False
        self._s.offline_since = t

    def _sat_down(self, t: float, out: list[Decision]) -> None:
        s, bout = self._s, self._s.bout
        s.vacant_since = None
        if bout is None:
            s.bout = Bout(start=t, next_alert_bt=self.rules.limit)
            return
        if bout.level > 0 and not bout.snoozed and alerts_allowed(s, self.rules, t) and s.online:
            bout_s = bout_time(s, t)
            bout.alerts += 1
            bout.alert_active = True
            bout.next_alert_bt = max(bout.next_alert_bt, bout_s + self.rules.escalate_after)
            fact = AlertSent(self.desk_id, t, bout.level, bout_s)
            out.append(SendAlert(self.desk_id, bout.level, bout_s, fact, resumed=True))

    def _stood_up(self, t: float, out: list[Decision]) -> None:
        self._s.vacant_since = t
        bout = self._s.bout
        if bout is None:
            return
        if bout.first_alert is not None and bout.responded is None:
            bout.responded = t
        if bout.alert_active:
            bout.alert_active = False
            out.append(SendClear(self.desk_id))

    def _pause_until(self, until: float, out: list[Decision]) -> None:
        self._s.paused_until = until
        bout = self._s.bout
        if bout is not None and bout.alert_active:
            bout.alert_active = False
            out.append(SendClear(self.desk_id))

    def _settle(self, now: float) -> list[Decision]:
        """Apply everything time alone decides up to ``now``: silence, offline and break endings."""
        s, r = self._s, self.rules
        out: list[Decision] = []
        if (
            s.online
            and s.heard_telemetry
            and s.last_heard is not None
            and now - s.last_heard >= GAP_PERIODS * r.telemetry_period
        ):
            self._go_offline(s.last_heard)
        bout = s.bout
        if bout is None:
            return out
        if not s.online and s.offline_since is not None and now - s.offline_since >= r.min_break:
            end = (
                s.offline_since
                if s.seated or s.vacant_since is None
                else min(s.vacant_since, s.offline_since)
            )
            self._end_bout(end, "offline", out)
        elif (
            s.online
            and not s.seated
            and s.vacant_since is not None
            and now - s.vacant_since >= r.min_break
        ):
            self._end_bout(s.vacant_since, "break", out)
        return out

    def _end_bout(
        self, end: float, ended_by: Literal["break", "offline"], out: list[Decision]
    ) -> None:
        bout = self._s.bout
        if bout is None:
            return
        self._s.bout = None
        responded = None
        if bout.first_alert is not None and bout.responded is not None:
            responded = max(0.0, bout.responded - bout.first_alert)
        out.append(
            BoutEnded(
                self.desk_id,
                bout.start,
                max(bout.start, end),
                ended_by,
                bout.alerts,
                bout.snoozes,
                bout.level,
                responded,
            )
        )

    def _maybe_alert(self, now: float, out: list[Decision]) -> None:
        s, bout = self._s, self._s.bout
        if bout is None or not s.seated or not s.online or not alerts_allowed(s, self.rules, now):
            return
        bout_s = bout_time(s, now)
        if bout_s < bout.next_alert_bt:
            return
        bout.level = min(bout.level + 1, MAX_LEVEL)
        bout.alerts += 1
        bout.alert_active = True
        bout.snoozed = False
        if bout.first_alert is None:
            bout.first_alert = now
        bout.next_alert_bt = bout_s + self.rules.escalate_after
        out.append(
            SendAlert(
                self.desk_id, bout.level, bout_s, AlertSent(self.desk_id, now, bout.level, bout_s)
            )
        )

    def _publish(self, now: float) -> list[Decision]:
        # Called after every event and tick; the view itself is only built when it changed.
        key = self._shown_at(now)
        if key == self._published:
            return []
        self._published = key
        return [PublishState(self.view(now))]

    def _shown_at(self, now: float) -> tuple[object, ...]:
        """What the view shows at ``now``: (state, level, bout start, online)."""
        bout = self._s.bout
        return (
            self.state(now),
            bout.level if bout else 0,
            bout.start if bout else None,
            self._s.online,
        )
