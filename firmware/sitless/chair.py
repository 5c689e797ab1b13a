"""One chair's logic without any hardware: the pure entry point.

`Chair` is fed raw sensor readings with the time they were taken and returns
what the board would publish. The firmware's app drives it from the real
sensor; the host's `sitless demo` drives it under CPython with simulated
readings, so demo chairs behave exactly like real ones:

    chair = Chair(config.check({"desk": "d1", "transport": "serial"}), boot="b1")
    for now_ms, raw in trace:
        event = chair.sample(now_ms, raw)
        if event is not None:  # ("occupancy", seated, seq, ts_ms, uptime_ms, value)
            body = payload.encode(chair.boot, event)  # the published JSON

Under CPython, put the `firmware` folder on `sys.path` first.

`sample` (the board's path) returns an event tuple or None and allocates
nothing when nothing happens; `payload.encode(boot, event)` turns an event
into the published bytes (the outbox keeps the small tuple until then).
`press` is the button and `hub` tells the chair whether the hub is online.
Times are milliseconds from one monotonic clock (`time.ticks_ms()` on the
board, any increasing integer elsewhere); `ts_ms` is unix time in
milliseconds, or None while the clock is not set. After each call, `alert`
holds the local fallback timer's new alert level, or None when it did not
change.
"""

from sitless import unload
from sitless.compat import ticks_diff
from sitless.fallback import Fallback
from sitless.signal import Debouncer, Smoother


class Chair:
    """One chair: raw readings in, events out (see the module docstring)."""

    def __init__(self, cfg, boot, saved_calib=None, now_ms=0):
        self.boot = boot
        self.seq = 0
        self.smoother = Smoother()
        from sitless.points import from_config, snoozes_allowed

        self.calib = from_config(cfg, saved_calib)
        self.debouncer = Debouncer(cfg["seated_ms"], cfg["vacant_ms"])
        self.fallback = Fallback(
            cfg["limit_s"] * 1000, cfg["min_break_s"] * 1000, snoozes_allowed(cfg)
        )
        unload("points")  # needed again only for a config command
        self.uptime_ms = 0
        self._last_ms = now_ms
        self.alert = None
        self.granted = True  # whether the last press was granted
        self.wall = None  # a callable giving unix ms (or None) when an event has no ts_ms

    @property
    def value(self):
        return self.smoother.value

    @property
    def seated(self):
        return self.debouncer.state is True

    def sample(self, now_ms, raw, ts_ms=None):
        """One raw reading: an `occupancy` event when the seat changed, else None."""
        # Uptime is summed step by step, so it never wraps with the ticks.
        step = ticks_diff(now_ms, self._last_ms)
        if step > 0:
            self.uptime_ms += step
        self._last_ms = now_ms
        self.alert = None
        if raw is not None and self.calib.accept(raw):
            value = self.smoother.add(raw)
            cal = self.calib
            debouncer = self.debouncer
            if debouncer.update(
                now_ms,
                cal.load(raw),
                cal.load(self.smoother.median),
                cal.load(value),
                cal.upper,
                cal.lower,
            ):
                # The transition's time is its first crossing sample's, which the hold
                # confirmed: break and bout lengths come out right to one sample.
                seated = debouncer.state  # and `since` is set: a change was confirmed
                self.alert = self.fallback.occupancy(seated, debouncer.since)
                return self._event(
                    "occupancy",
                    seated,
                    ts_ms,
                    value,
                    ticks_diff(now_ms, debouncer.since),  # pyright: ignore[reportArgumentType, reportCallIssue]
                )
            cal.track(value, debouncer.state is False)
        self.alert = self.fallback.tick(now_ms)
        return None

    def _event(self, kind, flag, ts_ms, value, back_ms=0):
        """(kind, seated or long press, seq, ts_ms, uptime_ms, value): what happened, unencoded.

        `back_ms`: how long before the current sample it happened.
        """
        if ts_ms is None and self.wall is not None:
            ts_ms = self.wall()
        if ts_ms is not None:
            ts_ms -= back_ms
        event = (kind, flag, self.seq, ts_ms, self.uptime_ms - back_ms, value)
        self.seq += 1
        return event

    def press(self, long_press, now_ms, alerting=False, ts_ms=None):
        """A button press event (it shares `seq` with occupancy).

        `alerting`: an alert shows now. Afterwards `granted` is False when the
        rules refused the snooze (strict mode, or the bout's snoozes used up).
        """
        step = ticks_diff(now_ms, self._last_ms)
        if step > 0:
            self.uptime_ms += step
        self._last_ms = now_ms
        self.granted = self.fallback.press(long_press, now_ms, alerting)
        self.alert = self.fallback.tick(now_ms)
        return self._event("button", long_press, ts_ms, 0)

    def hub(self, online, now_ms):
        """The hub (or the broker) came or went; returns the new local alert level or None."""
        self.fallback.hub_online = online
        self.alert = self.fallback.tick(now_ms)
        return self.alert

    def tare(self):
        """Take the current reading as the empty seat; False while seated."""
        return self.calib.tare(self.smoother.value, self.seated)
