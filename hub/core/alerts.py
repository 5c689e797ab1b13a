"""What an alert says to the chair: the movement to suggest and the ``cmd`` payloads.

The movements come from the health advice in the README (walk, hamstring
stretch, glute squeeze, squats, leg lifts, glute bridges); each desk gets them
in turn. Command ids are unique across hub restarts so an ack is never
matched to the wrong command.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Sequence
from typing import Final

import orjson

from hub.contract import protocol

MOVES: Final = (
    "Stand up and walk for two minutes - take the stairs if there are any.",
    (
        "Hamstring stretch: heel on a low step, lean forward gently, 10 s each leg "
        "(build up to 30 s)."
    ),
    "Glute squeeze: tighten your buttocks, hold 3 s, release; 3 sets of 10.",
    "Squats: 12 to 15, slow and controlled, chair behind you for safety.",
    "Leg lifts: standing, lift each straight leg back 10 times.",
    "Glute bridges: on your back, knees bent, lift your hips and lower slowly, 10 times.",
)


class MoveRotation:
    """Hands each desk the next movement in turn, so suggestions do not repeat back to back."""

    def __init__(self, moves: Sequence[str] = MOVES) -> None:
        self.moves = tuple(moves)
        self._next: dict[str, int] = {}

    def next(self, desk_id: str) -> str:
        """The movement to suggest to this desk now."""
        index = self._next.get(desk_id, 0)
        self._next[desk_id] = (index + 1) % len(self.moves)
        return self.moves[index]


class CommandIds:
    """Command ids unique across hub restarts: a random run tag and a counter."""

    def __init__(self) -> None:
        self._run = secrets.token_hex(3)
        self._count = itertools.count(1)

    def next(self) -> str:
        """A fresh id such as ``h3fa2c1-17``."""
        return f"h{self._run}-{next(self._count)}"


_ALERT_TAILS: dict[tuple[int, str], bytes] = {}


def alert_command(cmd_id: str, level: int, move: str) -> bytes:
    """The ``alert`` payload for ``P/D/cmd``, the same bytes as ``protocol.command`` gives.

    Everything after the id depends only on the level and the movement, so
    it is encoded once per pair (a handful) and each alert only adds its id.
    """
    tail = _ALERT_TAILS.get((level, move))
    if tail is None:
        whole = protocol.command("alert", "", level=level, move=move)
        tail = _ALERT_TAILS[level, move] = whole[len(b'{"id":""') :]
    return b'{"id":' + orjson.dumps(cmd_id) + tail


def clear_command(cmd_id: str) -> bytes:
    """The ``clear`` payload for ``P/D/cmd``."""
    return protocol.command("clear", cmd_id)
