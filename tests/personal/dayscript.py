"""A working day at one chair, played through the running hub with the hub's clock set per step.

The chair is a real MQTT client publishing the firmware's messages with
explicit event times (``ts``), and only messages that carry one (no
``status`` or ``ack``, which the hub would stamp with the machine's time, and
a desk's events apply in order); before each step the hub's clock is moved to
that time, and the step waits for the hub's own answer (the desk's retained
state, or the alert command it must send), so the hub never runs ahead of
the script. The figures the day must give are worked out by hand in
tests/personal/test_accounting.py.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

from tests.support.clockedhub import set_clock
from tests.support.mqttprobe import MqttProbe

# (local time, what happens). "alert N": only the clock moves; the hub must send level N then.
DAY: list[tuple[str, str]] = [
    ("08:30:00", "sit"),  # B1: 20 min, no alert
    ("08:50:00", "stand"),
    ("09:00:00", "sit"),  # B2: a one-minute stand does not end it
    ("09:20:00", "stand"),
    ("09:21:00", "sit"),
    ("09:30:00", "alert 1"),
    ("09:31:30", "stand"),  # up 90 s after the alert: 31.5 min, answered
    ("10:00:00", "sit"),  # B3: snoozed, then up too late
    ("10:30:00", "alert 1"),
    ("10:32:00", "short"),  # the next alert comes 10 min of bout time later, a level up
    ("10:42:00", "alert 2"),
    ("10:43:00", "stand"),  # 780 s after the first alert: 43 min, over
    ("11:00:00", "sit"),  # B4: a meeting (long press): no alert, time still counts
    ("11:05:00", "long"),
    ("11:34:00", "stand"),  # 34 min, within limit + 5 min: answered
    ("13:00:00", "sit"),  # B5: every level, then level 3 again
    ("13:30:00", "alert 1"),
    ("13:35:00", "alert 2"),
    ("13:40:00", "alert 3"),
    ("13:45:00", "alert 3"),
    ("13:47:00", "stand"),  # 17 min after the alert: 47 min, over
    ("14:00:00", "sit"),  # B6: up in 60 s, back after a minute (re-alert), up again
    ("14:30:00", "alert 1"),
    ("14:31:00", "stand"),
    ("14:32:00", "sit again"),  # before min_break: the hub alerts again at level 1
    ("14:32:30", "stand"),  # 32.5 min, answered in 60 s
    ("15:00:00", "sit"),  # B7: every snooze the rules allow (3), then up
    ("15:30:00", "alert 1"),
    ("15:31:00", "short"),
    ("15:41:00", "alert 2"),
    ("15:42:00", "short"),
    ("15:52:00", "alert 3"),
    ("15:53:00", "short"),
    ("16:03:00", "alert 3"),
    ("16:04:00", "stand"),  # 2040 s after the first alert: 64 min, over
    ("16:15:00", "sit"),  # B8: up in 120 s
    ("16:45:00", "alert 1"),
    ("16:47:00", "stand"),  # 32 min, answered
    ("17:00:00", "end"),
]
WAIT_S = 30.0  # for one answer of the hub; generous for a loaded machine, never reached when well


class ScriptedChair:
    """One chair's messages, each at the time the script gives, with its boot and sequence."""

    def __init__(self, probe: MqttProbe, prefix: str, desk: str) -> None:
        self.probe = probe
        self.base = f"{prefix}/{desk}"
        self.seq = 0
        self.alerts: list[int] = []
        probe.subscribe(f"{self.base}/sitting")
        probe.subscribe(f"{self.base}/cmd")

    def _event(self, kind: str, body: dict[str, Any], ts: float, *, retain: bool) -> None:
        self.seq += 1
        body = {**body, "seq": self.seq, "boot": "day1", "ts": ts, "uptime_ms": 1000 * self.seq}
        self.probe.publish(f"{self.base}/{kind}", body, retain=retain)

    def _mark(self) -> tuple[int, int]:
        return len(self.probe.received(f"{self.base}/sitting")), len(
            self.probe.received(f"{self.base}/cmd")
        )

    def _wait(self, what: str, found: Any) -> Any:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = found()
            if value is not None:
                return value
            time.sleep(0.02)
        seen = [m.payload[:160] for m in self.probe.received()[-6:]]
        raise TimeoutError(f"the hub did not answer {what} within {WAIT_S:.0f} s; last: {seen}")

    def _state(self, after: int, state: str, what: str) -> None:
        def found() -> Any:
            new = self.probe.received(f"{self.base}/sitting")[after:]
            return next((m for m in new if m.json().get("state") == state), None)

        self._wait(what, found)

    def _alert(self, after: int, level: int, what: str) -> None:
        def found() -> Any:
            new = self.probe.received(f"{self.base}/cmd")[after:]
            return next((m.json() for m in new if m.json().get("action") == "alert"), None)

        command = self._wait(what, found)
        self.alerts.append(int(command["level"]))
        assert command["level"] == level, f"{what}: level {command['level']}, not {level}"

    def step(self, action: str, ts: float, what: str) -> None:
        """Do one step at ``ts`` (the hub's clock is already there) and wait for its answer."""
        states, commands = self._mark()
        if action in ("sit", "sit again"):
            self._event("occupancy", {"seated": True, "value": 1800.0}, ts, retain=True)
            if action == "sit again":
                self._alert(commands, 1, what)
            self._state(states, "alerting" if action == "sit again" else "seated", what)
        elif action == "stand":
            self._event("occupancy", {"seated": False, "value": 200.0}, ts, retain=True)
            self._state(states, "vacant", what)
        elif action in ("short", "long"):
            self._event("button", {"press": action}, ts, retain=False)
            self._state(states, "snoozed" if action == "short" else "paused", what)
        elif action.startswith("alert "):
            self._alert(commands, int(action.split()[1]), what)  # a renewal changes no state


def at(day: dt.date, clock: str, tz: dt.tzinfo) -> float:
    """Unix time of a local clock time on ``day``."""
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=tz).timestamp()


def play(chair: ScriptedChair, clock_file: Path, day: dt.date, tz: dt.tzinfo) -> None:
    """The whole day, step by step, each after moving the hub's clock to its time."""
    for clock, action in DAY:
        ts = at(day, clock, tz)
        set_clock(clock_file, ts)
        chair.step(action, ts, f"{action} at {clock}")
