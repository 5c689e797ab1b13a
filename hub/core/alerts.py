"""Turning an alert decision into words and commands: the chair's ``cmd`` and Apprise notifications.

Notifications go through Apprise on a worker thread of their own, because a
slow mail server or webhook must never hold up the thread that owns desk
state. The queue in front of it is bounded; when it is full the notification
is dropped and counted rather than waited for.
"""

from __future__ import annotations

import itertools
import logging
import queue
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

import apprise

from hub import log as hublog
from hub import protocol

logger = logging.getLogger(__name__)

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

LEVEL_WORDS: Final = {
    1: "time to stand up",
    2: "please stand up now",
    3: "you have sat far too long",
}


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


def alert_command(cmd_id: str, level: int, move: str) -> bytes:
    """The ``alert`` payload for ``P/D/cmd``."""
    return protocol.command("alert", cmd_id, level=level, move=move)


def clear_command(cmd_id: str) -> bytes:
    """The ``clear`` payload for ``P/D/cmd``."""
    return protocol.command("clear", cmd_id)


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for people, addressed to a set of Apprise URLs."""

    desk: str
    title: str
    body: str
    urls: tuple[str, ...]


def alert_notification(
    desk_id: str, level: int, seated_s: float, move: str, urls: Sequence[str]
) -> Notification:
    """The words of an alert for people: who, how long, and what to do about it."""
    minutes = int(seated_s // 60)
    title = f"sitless: {desk_id} - {LEVEL_WORDS.get(level, 'stand up')}"
    body = f"Seated for {minutes} min without a real break (alert level {level}).\nTry this: {move}"
    return Notification(desk_id, title, body, tuple(urls))


def send_with_apprise(note: Notification) -> bool:
    """Deliver through every URL; True if all accepted it."""
    sender = apprise.Apprise()
    for url in note.urls:
        if not sender.add(url):
            logger.warning(
                "a notification URL was refused by apprise (check its scheme)",
                extra=hublog.desk(note.desk),
            )
    if not len(sender):
        return False
    return bool(sender.notify(body=note.body, title=note.title))


class Notifier:
    """A worker thread that sends notifications one by one, off the state owner's thread."""

    def __init__(
        self,
        *,
        queue_size: int = 1000,
        send: Callable[[Notification], bool] = send_with_apprise,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self._queue: queue.Queue[Notification | None] = queue.Queue(maxsize=queue_size)
        self._send = send
        self._on_result = on_result or (lambda _outcome: None)
        self._thread = threading.Thread(target=self._run, name="sitless-notify", daemon=True)

    def start(self) -> None:
        """Start the worker."""
        self._thread.start()

    def submit(self, note: Notification) -> bool:
        """Queue a notification; False (and counted) if the queue is full or no URL is set."""
        if not note.urls:
            return False
        try:
            self._queue.put_nowait(note)
        except queue.Full:
            self._on_result("dropped")
            logger.warning("notification queue full; dropped one", extra=hublog.desk(note.desk))
            return False
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Send what is queued (bounded by timeout), then end the worker."""
        if not self._thread.is_alive():
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            logger.warning("notification queue still full at shutdown")
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            note = self._queue.get()
            if note is None:
                return
            try:
                ok = self._send(note)
            except Exception:  # noqa: BLE001 - a broken notifier must not kill the worker
                # The URL may hold a secret, so only its failure is logged, not the URL.
                logger.warning("notification failed", extra=hublog.desk(note.desk))
                ok = False
            self._on_result("sent" if ok else "failed")
