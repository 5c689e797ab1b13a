"""Calibration: from raw readings of an empty and an occupied chair to the board's two points.

The board stores ``empty`` and ``occupied`` (docs/serial.md) and places its own
hysteresis thresholds between them, so the points must be far enough apart
that the sensor's noise never crosses the middle. The readings are the board's
filtered ``value``; the median keeps one bump of the chair from moving a point.
"""

from __future__ import annotations

import logging
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from hub.board.link import SerialLink
from hub.errors import DeviceError, SitlessError

logger = logging.getLogger(__name__)

MIN_SAMPLES: Final = 3
ENTER_AT: Final = 0.6  # fraction of the way from empty to occupied that reads as seated
LEAVE_AT: Final = 0.4  # ...and back down to vacant


class CalibrationError(SitlessError):
    """The readings cannot give usable thresholds; the message says what to check."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """The two points written to the board, and the thresholds the board derives from them."""

    empty: float
    occupied: float
    noise: float

    @property
    def enter(self) -> float:
        """Reading at which the chair turns seated."""
        return self.empty + ENTER_AT * (self.occupied - self.empty)

    @property
    def leave(self) -> float:
        """Reading at which the chair turns vacant again."""
        return self.empty + LEAVE_AT * (self.occupied - self.empty)


def compute(empty: list[float], seated: list[float]) -> Calibration:
    """The medians of both phases, refused when the gap is not clearly above the noise."""
    for name, values in (("empty", empty), ("seated", seated)):
        if len(values) < MIN_SAMPLES:
            raise CalibrationError(f"only {len(values)} {name} readings; need {MIN_SAMPLES}")
    low, high = statistics.median(empty), statistics.median(seated)
    noise = max(max(empty) - min(empty), max(seated) - min(seated))
    gap = abs(high - low)
    # an empty chair at its noisiest must stay below the vacant threshold, and the same
    # for a seated one above the seated threshold, or the chair would flicker
    if gap == 0 or gap * LEAVE_AT <= noise:
        raise CalibrationError(
            f"empty (about {low:.1f}) and seated (about {high:.1f}) readings are too close "
            f"for the noise ({noise:.1f}); check the sensor's wiring and that the whole "
            "weight is on it"
        )
    return Calibration(round(low, 2), round(high, 2), round(noise, 2))


Ask = Callable[[str], object]
Show = Callable[[int, int, float], None]


class Calibrator:
    """Runs the two phases on a board's serial link and writes the result with a ``config`` cmd."""

    def __init__(
        self, link: SerialLink, ask: Ask, show: Show, *, samples: int = 15, timeout: float = 10.0
    ) -> None:
        self.link = link
        self.ask = ask
        self.show = show
        self.samples = samples
        self.timeout = timeout

    def measure(self) -> Calibration:
        """Ask for an empty chair, then a seated person, and compute the points."""
        self.link.send("stream", True)
        try:
            self.ask("Leave the chair empty, then press Enter")
            empty = self.collect()
            self.ask("Sit on the chair as you normally do, then press Enter")
            seated = self.collect()
        finally:
            self.link.send("stream", False)
        return compute(empty, seated)

    def collect(self) -> list[float]:
        """``samples`` fresh readings; older lines were taken before the person was ready."""
        self.link.drain()
        values: list[float] = []
        deadline = time.monotonic() + self.timeout
        while len(values) < self.samples:
            if time.monotonic() >= deadline:
                raise DeviceError(
                    f"the board on {self.link.name} sent {len(values)} raw readings in "
                    f"{self.timeout:g} s; is the sitless firmware running on it?"
                )
            _line, message = self.link.read_message(0.2)
            if message is None or message.kind != "raw" or not isinstance(message.payload, dict):
                continue
            value = message.payload.get("value")
            if isinstance(value, int | float) and not isinstance(value, bool):
                values.append(float(value))
                self.show(len(values), self.samples, float(value))
        return values

    def write(self, result: Calibration) -> None:
        """Send the points as a ``config`` command and wait for the board's ack."""
        cmd_id = f"cal-{uuid.uuid4().hex[:8]}"
        self.link.send(
            "cmd",
            {
                "id": cmd_id,
                "action": "config",
                "set": {"empty": result.empty, "occupied": result.occupied},
            },
        )
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            _line, message = self.link.read_message(0.2)
            if message is None or message.kind != "ack" or not isinstance(message.payload, dict):
                continue
            if message.payload.get("id") != cmd_id:
                continue
            if message.payload.get("ok") is True:
                return
            raise CalibrationError(
                f"the board refused the calibration: {message.payload.get('error', 'no reason')}"
            )
        raise DeviceError(
            f"the board on {self.link.name} did not acknowledge the calibration "
            f"within {self.timeout:g} s"
        )
