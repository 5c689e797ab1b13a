r"""The contract's vocabulary, defined once: ids, topic levels, message kinds, states, levels, days.

Every other module (the parser, the config, the status page, the Home
Assistant and history code) takes these names from here, so a desk id that
one part accepts is never refused by another. The patterns end in ``\Z``,
not ``$``: ``$`` also matches before a trailing newline, so ``"d1\n"``
would pass for ``"d1"``.
"""

from __future__ import annotations

import re
from typing import Final, Literal

DESK_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}\Z")
BOOT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}\Z")
PREFIX_LEVEL: Final = re.compile(r"^[A-Za-z0-9_-]+\Z")
HUB_LEVEL: Final = "_hub"

DEVICE_KINDS: Final = frozenset({"status", "occupancy", "telemetry", "button", "info", "ack"})
HUB_KINDS: Final = frozenset({"cmd", "sitting"})
# ``P/D/request``: asks the hub (not the chair) to act for a desk; Home Assistant's buttons.
REQUEST_KIND: Final = "request"
REQUEST_ACTIONS: Final = frozenset({"identify", "tare", "pause", "resume"})
ACTIONS: Final = frozenset({"alert", "clear", "identify", "tare", "config", "reboot", "update"})
Kind = Literal["status", "occupancy", "telemetry", "button", "info", "ack"]

StateName = Literal["vacant", "seated", "alerting", "snoozed", "paused", "offline"]
STATES: Final[tuple[StateName, ...]] = (
    "vacant",
    "seated",
    "alerting",
    "snoozed",
    "paused",
    "offline",
)
# States in which someone sits and the bout clock runs.
SEATED_STATES: Final[frozenset[StateName]] = frozenset({"seated", "alerting", "snoozed", "paused"})

MAX_LEVEL: Final = 3
LEVELS: Final = tuple(range(MAX_LEVEL + 1))  # 0 is no alert

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKDAYS: Final[tuple[Weekday, ...]] = WEEKDAYS[:5]
