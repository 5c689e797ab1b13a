"""Notifications for people: an alert in words, delivered through Apprise off the owner thread.

Notifications go through Apprise on a worker thread of their own, because a
slow mail server or webhook must never hold up the thread that owns desk
state. The queue in front of it is bounded; when it is full the notification
is dropped and counted rather than waited for.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from hub import log as hublog

logger = logging.getLogger(__name__)

LEVEL_WORDS: Final = {
    1: "time to stand up",
    2: "please stand up now",
    3: "you have sat far too long",
}


@dataclass(frozen=True, slots=True)
class Notification:
    """One message for people, addressed to a set of Apprise URLs."""

    desk: str
    title: str
    body: str
    urls: tuple[str, ...]


def move_name(move: str) -> str:
    """The short name of a movement sentence, for a title ("Glute squeeze", "Squats")."""
    return move.split(":", 1)[0].split(" - ", 1)[0].strip().rstrip(".")[:60] or "move"


def alert_notification(
    desk_id: str, level: int, seated_s: float, move: str, urls: Sequence[str]
) -> Notification:
    """The words of an alert for people: who, how long, and what to do about it."""
    minutes = int(seated_s // 60)
    title = f"sitless: {desk_id} - {LEVEL_WORDS.get(level, 'stand up')}: {move_name(move)}"
    body = f"Seated for {minutes} min without a real break (alert level {level}).\nTry this: {move}"
    return Notification(desk_id, title, body, tuple(urls))


def send_with_apprise(note: Notification) -> bool:
    """Deliver through every URL; True if all accepted it."""
    # Imported on the first notification: apprise and its plugins cost a tenth of a
    # second at every start, and most hubs send no notification at all.
    import apprise  # noqa: PLC0415

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
