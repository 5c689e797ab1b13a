"""The batch commit: one checkpoint and one spool commit per batch, then act, then acknowledge.

A commit costs far more than the work of a message, so the owner thread
applies a whole batch of messages inside one ``BatchCommit``. What the batch
decided to send (commands, views, notifications) is held until the desks it
changed are saved, which keeps the hub's first rule: a desk is saved before
it is acted on, so a crash can lose an action but never repeat one. Only
after that may the broker forget the batch's messages.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any

from hub.core.checkpoint import Checkpoint
from hub.core.counters import Counters
from hub.core.facts import Fact
from hub.core.ports import Acknowledger, BatchPublisher, HandOver, HistoryStore, Transport
from hub.integrations.notify import Notification, Notifier
from hub.mqtt.inbox import Inbound

logger = logging.getLogger(__name__)

REMIND_EVERY_S = 60.0
# After a due batch's commands are queued, the owner thread waits at most this long for
# the network thread to take them (see ``due``).
HAND_OVER_S = 0.003

Rows = Callable[[dict[str, float]], list[tuple[str, dict[str, Any], str | None, int | None, float]]]


class BatchCommit:
    """Holds one batch's publishes and notifications until its desks are committed."""

    def __init__(  # noqa: PLR0913 - the commit touches each of these once per batch
        self,
        *,
        checkpoint: Checkpoint,
        history: HistoryStore,
        transport: Transport,
        notifier: Notifier,
        counters: Counters,
        rows: Rows,
    ) -> None:
        self.checkpoint = checkpoint
        self.history = history
        self.transport = transport
        self.notifier = notifier
        self.counters = counters
        self._rows = rows
        # Stand-in transports (tests, benchmarks) have nothing to acknowledge.
        self._acknowledger = transport if isinstance(transport, Acknowledger) else None
        self._batch_publisher = transport if isinstance(transport, BatchPublisher) else None
        self._hand_over = transport if isinstance(transport, HandOver) else None
        self._publishes: list[tuple[str, bytes, bool]] = []
        self._notes: list[Notification] = []
        self._holding = False  # from due() to after_due(): facts and views wait
        self._facts: list[Fact] = []
        self._views: list[tuple[str, bytes, bool]] = []
        self._changed: dict[str, float] = {}
        self._catch_up: Callable[[], None] | None = None  # see catch_up_with
        self._unacked: list[Inbound] = []  # from batches whose commit failed
        self._failures = 0
        self._last_reminder = 0.0

    def catch_up_with(self, catch_up: Callable[[], None]) -> None:
        """Have ``after_due`` call ``catch_up`` first: the work held back while commands left."""
        self._catch_up = catch_up

    def changed(self, desk_id: str, now: float) -> None:
        """The desk changed at ``now``: save it before anything the batch decided goes out."""
        self._changed[desk_id] = now

    def forget(self, desk_id: str) -> None:
        """The desk is gone: delete its checkpoint row with the batch, save nothing for it."""
        self._changed.pop(desk_id, None)
        self.checkpoint.forget([desk_id])

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Send after the commit."""
        self._publishes.append((topic, payload, retain))

    @property
    def holding(self) -> bool:
        """Whether due deadlines are being sent: all but commands wait for ``after_due``."""
        return self._holding

    def record(self, fact: Fact) -> None:
        """A history fact the batch decided: recorded now, or by ``after_due`` after ``due``."""
        if self._holding:
            self._facts.append(fact)
        else:
            self.history.record(fact)

    def notify(self, note: Notification) -> None:
        """Hand to the notifier after the commit."""
        self._notes.append(note)

    @contextlib.contextmanager
    def batch(self, messages: list[Inbound]) -> Iterator[None]:
        """Apply a batch inside; on leaving: commit, send what was held, acknowledge ``messages``.

        When the checkpoint cannot be saved (a full disk, say), what the batch
        decided still goes out (alerts go on), but its desks stay marked for
        the next commit and its messages stay unacknowledged until a commit
        succeeds, so a hub killed meanwhile gets them again from the broker.
        The failure is logged once, then reminded at most once a minute.
        """
        # Stores without batching (a test's list, NullHistory) simply record as they go.
        history_batch = self._history_batch
        saved = False
        try:
            try:
                with self.checkpoint.transaction(), history_batch():
                    yield
                    self.checkpoint.save_many(self._rows(self._changed))
                saved = True
                self._changed = {}
            except sqlite3.Error as exc:
                self.counters.drop("checkpoint_failed")
                self._failed(exc)
        finally:
            self._send()
        self._acknowledge(messages, saved=saved)

    @contextlib.contextmanager
    def due(self) -> Iterator[None]:
        """Deadlines that fell due together: save their desks, then send their commands.

        No message rides on such a batch, so nothing waits to be acknowledged
        on its history. The chairs' commands leave as soon as their desks are
        saved (never before, so a restart cannot repeat a level), and the owner
        thread lets the network thread take them before it goes on (at most
        ``HAND_OVER_S``); the retained views, the notifications and the history
        facts (alerts sent, bouts ended) wait for ``after_due``, which the
        caller runs once every chunk's commands are out. A crash in between can
        lose those points and views, never send an alert twice.
        """
        self._holding = True
        saved = False
        try:
            try:
                with self.checkpoint.transaction():
                    yield
                    self.checkpoint.save_many(self._rows(self._changed))
                saved = True
                self._changed = {}
            except sqlite3.Error as exc:
                self.counters.drop("checkpoint_failed")
                self._failed(exc)
        finally:
            commands = [p for p in self._publishes if not p[2]]
            self._views += [p for p in self._publishes if p[2]]
            self._publishes = commands
            notes, self._notes = self._notes, []
            self._send()
            self._notes = notes
            if commands and self._hand_over is not None:
                self._hand_over.hand_over(HAND_OVER_S)
        self._acknowledge([], saved=saved)

    def after_due(self) -> None:
        """What ``due`` batches held (views, notifications, facts) made, sent and recorded now."""
        try:
            if self._catch_up is not None:
                self._catch_up()
        finally:
            self._holding = False
            self._publishes, self._views = self._views + self._publishes, []
            self._send()
            facts, self._facts = self._facts, []
            if facts:
                with self._history_batch():
                    for fact in facts:
                        self.history.record(fact)

    def _history_batch(self) -> contextlib.AbstractContextManager[None]:
        batch = getattr(self.history, "batch", None)
        return batch() if batch is not None else contextlib.nullcontext()

    def _acknowledge(self, messages: list[Inbound], *, saved: bool) -> None:
        if self._acknowledger is None:
            return
        # Only now, with the batch's checkpoint and spool committed, may the broker
        # forget these messages; a crash before this gets them again. (Called with an
        # empty batch too: the transport's refused messages wait for it.)
        if not saved:
            self._unacked.extend(messages)
            self._acknowledger.ack([])
            return
        if self._failures:
            logger.warning("checkpoint saved again after %d failed batch(es)", self._failures)
            self._failures = 0
        waiting, self._unacked = self._unacked, []
        self._acknowledger.ack(waiting + messages if waiting else messages)

    def _failed(self, exc: sqlite3.Error) -> None:
        self._failures += 1
        now = time.monotonic()
        if self._failures == 1:
            logger.error(
                "could not save the checkpoint: %s; messages stay unacknowledged until it "
                "can be saved (alerts go on)",
                exc,
            )
        elif now - self._last_reminder < REMIND_EVERY_S:
            return
        else:
            logger.error("checkpoint still not saved (%d batches): %s", self._failures, exc)
        self._last_reminder = now

    def _send(self) -> None:
        held, self._publishes = self._publishes, []
        # Commands (never retained) first, then the views: a chair's alert never waits
        # behind a batch's views. The sort is stable, so each topic keeps its order.
        held.sort(key=lambda publish: publish[2])
        if held and self._batch_publisher is not None:
            self._batch_publisher.publish_many(held)
        else:
            for topic, payload, retain in held:
                self.transport.publish(topic, payload, retain=retain)
        notes, self._notes = self._notes, []
        for note in notes:
            self.notifier.submit(note)
