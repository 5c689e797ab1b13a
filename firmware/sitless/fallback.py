"""The sitting timer the board runs itself while the hub or the broker is away.

The same rule as the hub, kept small: a bout starts when the seat is taken; a
vacancy of at least `min_break_ms` ends it; after `limit_ms` seated in one bout
the chair buzzes (level 2), and after a further `escalate_ms` urgently (level
3). Standing up silences it. The bout is always tracked, so when the hub goes
away mid-bout the board already knows how long its person has sat; it only
acts while the hub is away (`hub_online`). Pure: `tick(now_ms)` returns the alert level the
chair should show (0 for none) when that changes, else None.
"""

from sitless.compat import const, ticks_add, ticks_diff

_ESCALATE_MS = const(300_000)
_SNOOZE_MS = const(600_000)
_PAUSE_MS = const(3_600_000)


class Fallback:
    """The local sitting timer (see the module docstring)."""

    def __init__(self, limit_ms, min_break_ms, escalate_ms=_ESCALATE_MS):
        self.limit_ms = limit_ms
        self.min_break_ms = min_break_ms
        self.escalate_ms = escalate_ms
        self.hub_online = False
        self.seated = False
        self.level = 0
        self._bout_start = None
        self._vacant_since = None
        self._quiet_until = None

    def occupancy(self, seated, now_ms):
        self.seated = seated
        if seated:
            if self._bout_start is None:
                self._bout_start = now_ms
            self._vacant_since = None
        elif self._bout_start is not None:
            self._vacant_since = now_ms
        return self.tick(now_ms)

    def press(self, long_press, now_ms):
        """The button: a short press snoozes, a long one pauses (a meeting)."""
        self._quiet_until = ticks_add(now_ms, _PAUSE_MS if long_press else _SNOOZE_MS)
        return self.tick(now_ms)

    def tick(self, now_ms):
        if (
            self._vacant_since is not None
            and ticks_diff(now_ms, self._vacant_since) >= self.min_break_ms
        ):
            self._bout_start = None
            self._vacant_since = None
            self._quiet_until = None
        level = 0
        if not self.hub_online and self.seated and self._bout_start is not None:
            seated_for = ticks_diff(now_ms, self._bout_start)
            if seated_for >= self.limit_ms + self.escalate_ms:
                level = 3
            elif seated_for >= self.limit_ms:
                level = 2
        if level and self._quiet_until is not None:
            if ticks_diff(self._quiet_until, now_ms) > 0:
                level = 0
            else:
                self._quiet_until = None
        if level == self.level:
            return None
        self.level = level
        return level
