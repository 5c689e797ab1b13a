"""Synthetic people for simulated chairs: when they arrive, fidget, stand, take breaks, react.

A ``Person`` turns time into seat pressure (0 empty, about 1 seated); ``Pace``
says how long people do things. Nothing here knows about MQTT or the firmware.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Pace:
    """How long people do things, in seconds; ``scale`` stretches the long periods only.

    The demo uses scale 1 with a 60 s limit; ``scale=30`` gives an office day
    against the default 30 minute limit. Short stands, fidgets and reaction
    times are physical and are not scaled.
    """

    scale: float = 1.0
    first_arrival: tuple[float, float] = (1.0, 20.0)
    bout: tuple[float, float] = (25.0, 110.0)
    sit_until_alerted: float = 0.45
    short_stand_every: tuple[float, float] = (15.0, 45.0)
    short_stand: tuple[float, float] = (2.0, 9.0)
    fidget_every: tuple[float, float] = (3.0, 9.0)
    fidget: tuple[float, float] = (0.3, 1.5)
    real_break: tuple[float, float] = (18.0, 60.0)
    lunch: tuple[float, float] = (120.0, 240.0)
    lunch_chance: float = 0.12


class Person:
    """Decides, moment by moment, how hard someone presses on the seat (0 empty, ~1 seated)."""

    def __init__(self, rng: random.Random, pace: Pace, now_ms: int) -> None:
        self.rng = rng
        self.pace = pace
        self.weight = rng.uniform(0.85, 1.3)
        self.mode = "away"  # away | sitting | stand | break
        self.mode_end = now_ms + self._ms(pace.first_arrival, scaled=False)
        self.bout_end = 0
        self.next_stand = 0
        self.next_fidget = 0
        self.fidget_end = 0
        self.pending_press: str | None = None
        self.press_at = 0

    def _ms(self, span: tuple[float, float], *, scaled: bool = True) -> int:
        seconds = self.rng.uniform(*span) * (self.pace.scale if scaled else 1.0)
        return int(seconds * 1000)

    def _sit(self, now_ms: int) -> None:
        self.mode = "sitting"
        until_alert = self.rng.random() < self.pace.sit_until_alerted
        self.bout_end = now_ms + (10**12 if until_alert else self._ms(self.pace.bout))
        self.next_stand = now_ms + self._ms(self.pace.short_stand_every)
        self.next_fidget = now_ms + self._ms(self.pace.fidget_every, scaled=False)

    def _leave(self, now_ms: int) -> None:
        lunch = self.rng.random() < self.pace.lunch_chance
        self.mode = "break"
        self.mode_end = now_ms + self._ms(self.pace.lunch if lunch else self.pace.real_break)

    def load(self, now_ms: int) -> float:
        """The load on the seat now, as a fraction of a typical person."""
        mode = self.mode
        if mode in ("away", "break"):
            if now_ms >= self.mode_end:
                self._sit(now_ms)
            return 0.0
        if mode == "stand":
            if now_ms >= self.mode_end:
                self.mode = "sitting"
                self.next_stand = now_ms + self._ms(self.pace.short_stand_every)
            return 0.02
        if now_ms >= self.bout_end:
            self._leave(now_ms)
            return 0.0
        if now_ms >= self.next_stand:
            self.mode = "stand"
            self.mode_end = now_ms + self._ms(self.pace.short_stand, scaled=False)
            return 0.0
        if now_ms >= self.next_fidget:
            self.fidget_end = now_ms + self._ms(self.pace.fidget, scaled=False)
            self.next_fidget = self.fidget_end + self._ms(self.pace.fidget_every, scaled=False)
        if now_ms < self.fidget_end:
            return self.weight * 0.55  # leaning forward: between the thresholds
        return self.weight

    def alerted(self, level: int, now_ms: int) -> None:
        """The chair buzzed: stand up for a real break, snooze, pause, or ignore it for now."""
        if self.mode != "sitting":
            return
        roll = self.rng.random()
        react_ms = now_ms + self._ms((2.0, 8.0), scaled=False)
        if roll < 0.35 + 0.2 * level:
            self.bout_end = react_ms
        elif roll < 0.8 + 0.05 * level:
            self.pending_press, self.press_at = "short", react_ms
        elif roll < 0.9:
            self.pending_press, self.press_at = "long", react_ms

    def press(self, now_ms: int) -> str | None:
        """A button press due now, if any."""
        if self.pending_press is None or now_ms < self.press_at:
            return None
        press, self.pending_press = self.pending_press, None
        return press


# ---- one chair and the fleet ----------------------------------------------------------
