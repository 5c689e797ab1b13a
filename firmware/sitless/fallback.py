"""The sitting timer the board runs itself, the chair's own copy of the hub's rules.

A bout starts when the seat is taken; a vacancy of at least `min_break_ms`
ends it (decided when the person sits down again, from the two transitions'
own times, so a break is measured to one sample). After `limit_ms` seated in
one bout the chair alerts at level 1, then one level higher every
`escalate_ms` (level 3 repeated from then on), as the hub does. Standing up
silences it; sitting down again before the break was real brings the alert
back at the level reached.

A short press during an alert is a snooze when the rules allow one: at most
`max_snoozes` per bout (0 in strict mode); the alert goes quiet for
`snooze_ms` and the next one is a level higher. A refused press changes
nothing (the app answers it with a short double buzz). A long press pauses
alerts for an hour. The bout is always tracked; the board acts (`level`)
only while the hub is away (`hub_online` False), and while the hub is there
it only shows the hub's alerts, which the same presses snooze on the hub.

Pure: `tick(now_ms)` returns the alert level to show when the board should
(re)start showing one (0 for none), else None. `snapshot` carries the state across
a reboot as plain integers (`sitless.start` takes it back).
"""

from sitless.compat import const, ticks_add, ticks_diff

_ESCALATE_MS = const(300_000)
_SNOOZE_MS = const(600_000)
_PAUSE_MS = const(3_600_000)


class Fallback:
    """The local sitting timer (see the module docstring)."""

    def __init__(self, limit_ms, min_break_ms, max_snoozes=3, escalate_ms=_ESCALATE_MS):
        self.limit_ms = limit_ms
        self.min_break_ms = min_break_ms
        self.max_snoozes = max_snoozes
        self.escalate_ms = escalate_ms
        self.hub_online = False
        self.seated = False
        self.level = 0  # what the board shows (0 while the hub is online)
        self.reached = 0  # the bout's alert level so far
        self.snoozes = 0
        self.next_ms = limit_ms  # bout time of the next alert
        self.bout_start = None
        self.vacant_since = None
        self.quiet_until = None

    def occupancy(self, seated, at_ms):
        """The seat changed at `at_ms` (the transition's own time, not when it was confirmed)."""
        self.seated = seated
        if seated:
            if self.vacant_since is not None and (
                ticks_diff(at_ms, self.vacant_since) >= self.min_break_ms
            ):
                self.bout_start = None  # the break was real: a new bout
            if self.bout_start is None:
                self.bout_start = at_ms
                self.reached = self.snoozes = 0
                self.next_ms = self.limit_ms
                self.quiet_until = None
            self.vacant_since = None
        elif self.bout_start is not None:
            self.vacant_since = at_ms
        return self.tick(at_ms)

    def idle(self, now_ms):
        """True when no bout is being timed: vacant, and for longer than a break."""
        if self.seated:
            return False
        since = self.vacant_since
        return self.bout_start is None or (
            since is not None and ticks_diff(now_ms, since) >= self.min_break_ms
        )

    def press(self, long_press, now_ms, alerting):
        """The button; `alerting`: an alert shows (the hub's or ours). False: a refused snooze.

        `tick` then says what to show.
        """
        if long_press:  # a meeting: no alerts for an hour
            self.quiet_until = ticks_add(now_ms, _PAUSE_MS)
        elif alerting:
            if self.snoozes >= self.max_snoozes:
                return False
            self.snoozes += 1
            self.quiet_until = ticks_add(now_ms, _SNOOZE_MS)
            if self.bout_start is not None:  # the next alert: a level higher, a snooze later
                self.next_ms = ticks_diff(now_ms, self.bout_start) + _SNOOZE_MS
        return True

    def tick(self, now_ms):
        start = self.bout_start
        issue = False
        if start is not None and self.seated:
            quiet = self.quiet_until
            if quiet is not None and ticks_diff(quiet, now_ms) <= 0:
                quiet = self.quiet_until = None
            seated_for = ticks_diff(now_ms, start)
            while quiet is None and seated_for >= self.next_ms:
                # Due: one level higher (1 at the limit), then again an escalation later
                # (several at once when the hub held the board back meanwhile).
                self.reached = min(self.reached + 1, 3)
                self.next_ms += self.escalate_ms
                issue = True
            level = 0 if quiet is not None else self.reached
        else:
            level = 0
        if self.hub_online:
            level = 0
        if level == self.level and not (issue and level):
            return None
        self.level = level
        return level

    def snapshot(self, now_ms):
        """The state as integers relative to `now_ms` (-1: unset), to survive a reboot."""
        start, vacant, quiet = self.bout_start, self.vacant_since, self.quiet_until
        return (
            1 if self.seated else 0,
            self.reached,
            self.snoozes,
            self.next_ms,
            -1 if start is None else ticks_diff(now_ms, start),
            -1 if vacant is None else ticks_diff(now_ms, vacant),
            -1 if quiet is None else max(ticks_diff(quiet, now_ms), 0),
        )
