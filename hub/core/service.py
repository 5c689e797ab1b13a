"""The hub service: the one thread that owns every desk's state.

Messages arrive on a bounded queue from the MQTT network thread. This thread
parses them, drops duplicates and replays, feeds the desks' state machines,
fires deadlines from a heap, checkpoints each desk before acting on its
decisions (so a crash can lose an alert but never repeat one), sends the
commands and publishes each desk's view. Other threads (a status page, the
API) only read snapshots or post requests to a control queue.

The service can run in-process, so a demo or test can construct it from a
``HubConfig``, ``start()`` it on its own thread and ``stop()`` it cleanly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import queue
import sqlite3
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol, runtime_checkable

import orjson

from hub import alerts, protocol
from hub import log as hublog
from hub.checkpoint import Checkpoint
from hub.config import HubConfig
from hub.errors import ProtocolError
from hub.facts import (
    AlertSent,
    BoutEnded,
    DeskSample,
    Fact,
    OccupancyChanged,
    Snoozed,
    TelemetryReceived,
)
from hub.mqtt import Inbound, MqttTransport
from hub.sitting import Decision, Desk, DeskView, PublishState, Rules, SendAlert, SendClear
from hub.timers import Deadlines

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "sitless-checkpoint.sqlite3"
MAX_FUTURE_S = 30.0
MAX_AGE_S = 86400.0
MAX_WAIT_S = 0.5
DRAIN_BATCH = 1000
DROP_LOG_EVERY_S = 60.0
RECENT_COMMANDS = 4096


class HistorySink(Protocol):
    """What the service needs from the history store (``hub.history.History`` fits)."""

    def record(self, fact: Fact) -> None:
        """Keep one fact."""

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        """Keep every desk's state at a sample instant aligned to the sample period."""

    def start(self) -> None:
        """Begin (open files, start writers)."""

    def close(self) -> None:
        """Finish and release everything."""


class NullHistory:
    """A history sink that keeps nothing, for running without a store."""

    def record(self, fact: Fact) -> None:
        """Forget the fact."""

    def sample(self, ts: float, samples: list[DeskSample]) -> None:
        """Forget the samples."""

    def start(self) -> None:
        """Nothing to start."""

    def close(self) -> None:
        """Nothing to close."""


class Transport(Protocol):
    """What the service needs from the broker connection (``hub.mqtt.MqttTransport`` fits)."""

    connected: threading.Event

    def start(self) -> None:
        """Connect in the background."""

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish with QoS 1."""

    def stop(self, timeout: float = 5.0) -> None:
        """Say goodbye and disconnect."""


@runtime_checkable
class Acknowledger(Protocol):
    """A transport that acknowledges messages only when told (``MqttTransport`` is one)."""

    def ack(self, messages: list[Inbound]) -> None:
        """Acknowledge messages whose effects are committed."""


@runtime_checkable
class BatchPublisher(Protocol):
    """A transport that takes a batch's publishes at once (``MqttTransport`` does)."""

    def publish_many(self, messages: list[tuple[str, bytes, bool]]) -> None:
        """Publish each (topic, payload, retain) with QoS 1, in order."""


def event_time(ts: float | None, received: float) -> float:
    """The device's time when sane (not >30 s ahead, not >24 h old), else the receive time."""
    if ts is None or ts > received + MAX_FUTURE_S or ts < received - MAX_AGE_S:
        return received
    return ts


def claimed_desk(payload: bytes) -> str | None:
    """The desk a payload names itself, if it does (a chair speaking for another desk)."""
    if b'"desk"' not in payload:
        return None  # the usual case: no second decode
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None  # the parser will refuse it with its own reason
    claimed = body.get("desk") if isinstance(body, dict) else None
    return str(claimed) if claimed is not None else None


class Counters:
    """Thread-safe counts for the status page and /metrics."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.messages_in = 0
        self.dropped: Counter[str] = Counter()
        self.alerts_out = 0
        self.clears_out = 0
        self.alerts_acked = 0
        self.acks_unknown = 0
        self.notifications: Counter[str] = Counter()

    def add(self, name: str, amount: int = 1) -> None:
        """Add to one of the plain counters."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def drop(self, reason: str) -> None:
        """Count one dropped message."""
        with self._lock:
            self.dropped[reason] += 1

    def notified(self, outcome: str) -> None:
        """Count one notification outcome (sent, failed, dropped)."""
        with self._lock:
            self.notifications[outcome] += 1

    def snapshot(self) -> dict[str, Any]:
        """A copy that can be read without the lock."""
        with self._lock:
            return {
                "messages_in": self.messages_in,
                "dropped": dict(self.dropped),
                "alerts_out": self.alerts_out,
                "clears_out": self.clears_out,
                "alerts_acked": self.alerts_acked,
                "acks_unknown": self.acks_unknown,
                "notifications": dict(self.notifications),
            }


class DropLog:
    """At most one log line per drop reason per period, saying how many were dropped."""

    def __init__(self, every: float = DROP_LOG_EVERY_S) -> None:
        self.every = every
        self._last: dict[str, float] = {}
        self._pending: Counter[str] = Counter()

    def note(self, reason: str, detail: str, now: float) -> None:
        """Remember a drop and log it if this reason has been quiet long enough."""
        self._pending[reason] += 1
        if now - self._last.get(reason, -math.inf) >= self.every:
            logger.warning(
                "dropped %d message(s): %s (latest: %s)",
                self._pending[reason],
                reason,
                detail[:200],
            )
            self._last[reason] = now
            self._pending[reason] = 0


@dataclass(frozen=True, slots=True)
class DeskStatus:
    """One desk for the status page: the hub's view plus where the desk is."""

    view: DeskView
    prefix: str
    site: str
    floor: str
    zone: str


@dataclass(slots=True)
class _Seen:
    """Per-desk dedupe state: the current boot and the highest seq in it."""

    boot: str | None = None
    seq: int | None = None

    def is_new(self, boot: str, seq: int) -> bool:
        if boot == self.boot and self.seq is not None and seq <= self.seq:
            return False
        self.boot, self.seq = boot, seq
        return True


class RecentCommands:
    """The last few thousand commands sent, so a device's ack can be matched to its alert.

    An alert maps to the fact recorded when it was sent; a clear maps to
    None (its ack is expected, not worth recording). Bounded: the oldest
    entries go first, and an ack that old is simply not matched.
    """

    def __init__(self, size: int = RECENT_COMMANDS) -> None:
        self.size = size
        self._sent: OrderedDict[str, tuple[str, AlertSent | None]] = OrderedDict()

    def remember(self, cmd_id: str, desk_id: str, alert: AlertSent | None) -> None:
        """Keep one command id, forgetting the oldest beyond the bound."""
        self._sent[cmd_id] = (desk_id, alert)
        while len(self._sent) > self.size:
            self._sent.popitem(last=False)

    def acked(self, cmd_id: str, desk_id: str) -> tuple[bool, AlertSent | None]:
        """Whether the id is one we sent to this desk, and its alert the first time it is acked."""
        found = self._sent.get(cmd_id)
        if found is None or found[0] != desk_id:
            return False, None
        self._sent[cmd_id] = (desk_id, None)  # a redelivered ack records nothing more
        return True, found[1]

    def __len__(self) -> int:
        return len(self._sent)


@dataclass(frozen=True, slots=True)
class _Pause:
    desk: str
    seconds: float | None


class HubService:
    """Owns the desks. ``start``/``stop`` run it on a thread; ``run`` blocks the caller."""

    def __init__(
        self,
        cfg: HubConfig,
        *,
        history: HistorySink | None = None,
        transport: Transport | None = None,
        notify_send: Callable[[alerts.Notification], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.prefixes = cfg.mqtt.prefixes
        self.history: HistorySink = history if history is not None else NullHistory()
        self.clock = clock
        self.counters = Counters()
        self.inbox: queue.Queue[Inbound | None] = queue.Queue(maxsize=cfg.limits.queue_size)
        self.transport: Transport = (
            transport
            if transport is not None
            else MqttTransport(cfg.mqtt, cfg.limits, self.inbox, self.counters.drop)
        )
        self.notifier = alerts.Notifier(
            on_result=self.counters.notified, send=notify_send or alerts.send_with_apprise
        )
        self.moves = alerts.MoveRotation()
        self.ids = alerts.CommandIds()
        self.recent = RecentCommands()
        # Stand-in transports (tests, benchmarks) have nothing to acknowledge.
        self._acknowledger = self.transport if isinstance(self.transport, Acknowledger) else None
        self._batch_publisher = (
            self.transport if isinstance(self.transport, BatchPublisher) else None
        )
        self.checkpoint = Checkpoint(cfg.state_path(CHECKPOINT_FILE))
        self.desks: dict[str, Desk] = {}
        self._prefix_of: dict[str, str] = {}
        self._seen: dict[str, _Seen] = {}
        self._per_prefix: Counter[str] = Counter()
        self._deadlines = Deadlines()
        self._drops = DropLog()
        self._control: queue.Queue[_Pause] = queue.Queue()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_sample: float | None = None
        self._held: list[tuple[str, bytes, bool]] | None = None
        self._held_notes: list[alerts.Notification] = []
        self._unsaved: dict[str, float] = {}
        self._shared_rules: Rules | None = None
        self._samples: queue.Queue[tuple[float, list[DeskSample] | None]] = queue.Queue(maxsize=2)
        self._sampler: threading.Thread | None = None

    # ---- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Restore desks from the checkpoint, connect, and run the owner thread."""
        # History first: restoring may end a bout or send an alert, which is recorded.
        self.history.start()
        self.notifier.start()
        self._restore()
        self.transport.start()
        self._sampler = threading.Thread(
            target=self._write_samples, name="sitless-sampler", daemon=True
        )
        self._sampler.start()
        self._thread = threading.Thread(target=self.run, name="sitless-hub", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch, then close transport, notifier, history and checkpoint."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._sampler is not None:
            with contextlib.suppress(queue.Full):
                self._samples.put((0.0, None), timeout=timeout)
            self._sampler.join(timeout)
        self.transport.stop()
        self.notifier.stop()
        self.history.close()
        with self._lock:
            self.checkpoint.close()

    def run(self) -> None:
        """The owner loop: messages, control requests, deadlines and samples until stopped."""
        while not self._stop.is_set():
            try:
                item = self.inbox.get(timeout=self._wait_time())
            except queue.Empty:
                item = None
            with self._lock:
                now = self.clock()
                batch = [item] if item is not None else []
                self._take_waiting(batch)
                self._held = []
                try:
                    with self._batch_writes():
                        for inbound in batch:
                            self._handle_safely(inbound)
                        self._handle_control(now)
                        self._fire_deadlines(self.clock())
                        self._maybe_sample(self.clock())
                finally:
                    self._send_held()
                # Only now, with the batch's checkpoint and spool committed, may the
                # broker forget these messages; a crash before this gets them again.
                # (Called with an empty batch too: dropped messages wait for it.)
                if self._acknowledger is not None:
                    self._acknowledger.ack(batch)

    def _take_waiting(self, batch: list[Inbound]) -> None:
        """Move what waits in the inbox into ``batch``, up to ``DRAIN_BATCH``, under one lock.

        ``get_nowait`` per message takes and releases the queue's lock each
        time, a measurable cost at tens of thousands of messages a second.
        This does what it does (the inbox is a plain ``queue.Queue`` the
        service made itself) for all of them at once. Wake-ups (None) are
        dropped: they only ended the wait.
        """
        inbox = self.inbox
        with inbox.mutex:
            waiting = inbox.queue
            count = min(len(waiting), DRAIN_BATCH - len(batch))
            if count <= 0:
                return
            popleft = waiting.popleft
            batch.extend([item for item in (popleft() for _ in range(count)) if item is not None])
            inbox.not_full.notify(count)

    @contextlib.contextmanager
    def _batch_writes(self) -> Iterator[None]:
        """One checkpoint commit and one spool commit per batch instead of one each per message.

        A commit costs far more than the work of a message. The batch's
        commands and views are held back until the checkpoint is committed,
        which keeps the rule that a desk is saved before it is acted on.
        """
        # Sinks without batching (a test's list, NullHistory) simply record as they go.
        history_batch = getattr(self.history, "batch", contextlib.nullcontext)
        try:
            with self.checkpoint.transaction(), history_batch():
                yield
                unsaved, self._unsaved = self._unsaved, {}
                self._save_desks(unsaved)
        except sqlite3.Error as exc:
            logger.error("could not save the checkpoint: %s", exc)  # noqa: TRY400 - the reason is enough
            self.counters.drop("checkpoint_failed")

    def _save_desks(self, desks: dict[str, float]) -> None:
        """Checkpoint each desk's current state (desk id -> time of its last change)."""
        rows = []
        for desk_id, when in desks.items():
            seen = self._seen.get(desk_id, _Seen())
            state = {"prefix": self._prefix_of[desk_id], "desk": self.desks[desk_id].record}
            rows.append((desk_id, state, seen.boot, seen.seq, when))
        self.checkpoint.save_many(rows)

    def _send_held(self) -> None:
        held, self._held = self._held, None
        if held and self._batch_publisher is not None:
            self._batch_publisher.publish_many(held)
        else:
            for topic, payload, retain in held or ():
                self.transport.publish(topic, payload, retain=retain)
        for note in self._held_notes:
            self.notifier.submit(note)
        self._held_notes.clear()

    def _publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        if self._held is None:
            self.transport.publish(topic, payload, retain=retain)
        else:
            self._held.append((topic, payload, retain))

    # ---- what other threads may call -----------------------------------------------

    def pause(self, desk_id: str, seconds: float | None = None) -> None:
        """Pause a desk's alerts (``seconds`` defaults to ``sitting.pause``; 0 resumes)."""
        self._control.put(_Pause(desk_id, seconds))
        self._wake()

    def views(self) -> list[DeskStatus]:
        """Every desk as it is now, for a status page."""
        with self._lock:
            now = self.clock()
            out = []
            for desk_id, desk in sorted(self.desks.items()):
                where = self.cfg.desk(desk_id)
                out.append(
                    DeskStatus(
                        desk.view(now),
                        self._prefix_of.get(desk_id, ""),
                        where.site,
                        where.floor,
                        where.zone,
                    )
                )
            return out

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self.transport.connected.is_set()

    # ---- the owner thread's work ----------------------------------------------------

    def _wake(self) -> None:
        # A full inbox means the loop is busy anyway and will see the stop flag soon.
        with contextlib.suppress(queue.Full):
            self.inbox.put_nowait(None)

    def _wait_time(self) -> float:
        due = self._deadlines.next_time()
        wait = MAX_WAIT_S if due is None else due - self.clock()
        return min(MAX_WAIT_S, max(0.0, wait))

    def _restore(self) -> None:
        now = self.clock()
        for desk_id, saved in self.checkpoint.load().items():
            prefix = saved.state.get("prefix")
            if prefix not in self.prefixes or not isinstance(saved.state.get("desk"), dict):
                continue
            desk = self._new_desk(desk_id, prefix)
            try:
                desk.restore(saved.state["desk"])
            except (TypeError, ValueError):
                logger.warning(
                    "checkpoint for this desk is unreadable; starting fresh",
                    extra=hublog.desk(desk_id),
                )
                continue
            desk.resume(now)
            if saved.boot is not None and saved.seq is not None:
                self._seen[desk_id] = _Seen(saved.boot, saved.seq)
            self._apply(desk, desk.on_tick(now), now)
        if self.desks:
            logger.info("restored %d desk(s) from the checkpoint", len(self.desks))

    def _new_desk(self, desk_id: str, prefix: str) -> Desk:
        desk = Desk(desk_id, self._rules_for(desk_id))
        self.desks[desk_id] = desk
        self._prefix_of[desk_id] = prefix
        self._per_prefix[prefix] += 1
        return desk

    def _rules_for(self, desk_id: str) -> Rules:
        """Desks without a section of their own share one ``Rules`` (one object, not one each)."""
        if desk_id in self.cfg.desks:
            return Rules.for_desk(self.cfg, desk_id)
        if self._shared_rules is None:
            self._shared_rules = Rules.for_desk(self.cfg, desk_id)
        return self._shared_rules

    def _drop(self, reason: str, detail: str) -> None:
        self.counters.drop(reason)
        self._drops.note(reason, detail, self.clock())

    def _handle_safely(self, inbound: Inbound) -> None:
        self.counters.add("messages_in")
        try:
            self._handle(inbound)
        except ProtocolError as exc:
            self._drop("bad_payload", str(exc))
        except Exception:
            # A bug must cost one message, not the hub; the traceback is for the developer.
            logger.exception("could not process a message on %s", inbound.topic[:200])
            self.counters.drop("internal_error")

    def _handle(self, inbound: Inbound) -> None:
        try:
            where = protocol.split_topic(inbound.topic, self.prefixes)
        except ProtocolError as exc:
            self._drop("bad_topic", str(exc))
            return
        if where.desk == protocol.HUB_LEVEL:
            return  # the hub's own status
        if where.kind in protocol.HUB_KINDS:
            if where.kind == "sitting" and inbound.retain:
                self._seed(where, inbound)
            return  # our own commands and views coming back
        claimed = claimed_desk(inbound.payload)
        if claimed is not None and claimed != where.desk:
            self._drop("desk_mismatch", f"{inbound.topic} claims desk {claimed[:60]!r}")
            return
        desk = self.desks.get(where.desk)
        if desk is None:
            if self._per_prefix[where.prefix] >= self.cfg.limits.max_desks_per_prefix:
                self._drop("too_many_desks", inbound.topic)
                return
            message = protocol.parse_payload(where.desk, where.kind, inbound.payload, inbound.topic)
            desk = self._new_desk(where.desk, where.prefix)
        else:
            message = protocol.parse_payload(where.desk, where.kind, inbound.payload, inbound.topic)
            self._prefix_of[where.desk] = where.prefix
        now = inbound.received
        decisions = self._feed(desk, message, now)
        if decisions is None:
            return
        self._apply(desk, decisions + desk.on_tick(max(now, self.clock())), self.clock())

    def _feed(
        self, desk: Desk, message: protocol.DeviceMessage, received: float
    ) -> list[Decision] | None:
        """Hand one parsed message to its desk; None if it was a duplicate."""
        desk_id = desk.desk_id
        if isinstance(message, protocol.Occupancy | protocol.Button) and not self._seen.setdefault(
            desk_id, _Seen()
        ).is_new(message.boot, message.seq):
            self._drop("duplicate", f"{desk_id} boot {message.boot} seq {message.seq}")
            return None
        if isinstance(message, protocol.Occupancy):
            ts = event_time(message.ts, received)
            self.history.record(
                OccupancyChanged(desk_id, ts, message.seated, message.seq, message.value)
            )
            return desk.on_occupancy(message.seated, ts)
        if isinstance(message, protocol.Button):
            return desk.on_button(message.press, event_time(message.ts, received))
        if isinstance(message, protocol.Status):
            return desk.on_status(message.online, received)
        if isinstance(message, protocol.Telemetry):
            ts = event_time(message.ts, received)
            self.history.record(TelemetryReceived(desk_id, ts, message))
            return desk.on_telemetry(ts)
        if isinstance(message, protocol.Ack):
            self._on_ack(message)
        return []

    def _on_ack(self, ack: protocol.Ack) -> None:
        """Record that a chair took an alert: the same point again, now ``acked``."""
        if not ack.ok:
            logger.info(
                "device refused command %s: %s", ack.id, ack.error, extra=hublog.desk(ack.desk)
            )
            return
        known, alert = self.recent.acked(ack.id, ack.desk)
        if not known:
            self.counters.add("acks_unknown")
            return
        if alert is not None:
            # Same desk, time and level: the history store overwrites the point.
            self.history.record(replace(alert, acked=True))
            self.counters.add("alerts_acked")

    def _seed(self, where: protocol.Topic, inbound: Inbound) -> None:
        """No checkpoint for this desk: take the bout from our own retained view."""
        if where.desk in self.desks or not protocol.DESK_ID.match(where.desk):
            return
        try:
            view = json.loads(inbound.payload)
            state, since, level = view["state"], view["since"], int(view["level"])
        except (ValueError, KeyError, TypeError):
            return
        if state in ("vacant", "offline") or not isinstance(since, int | float):
            return
        desk = self._new_desk(where.desk, where.prefix)
        now = self.clock()
        desk.seed(float(since), level, now)
        self._apply(desk, desk.on_tick(now), now)

    def _handle_control(self, now: float) -> None:
        while True:
            try:
                request = self._control.get_nowait()
            except queue.Empty:
                return
            desk = self.desks.get(request.desk)
            if desk is None:
                logger.warning("pause asked for unknown desk %s", request.desk[:60])
                continue
            seconds = self.cfg.sitting.pause if request.seconds is None else request.seconds
            self._apply(desk, desk.pause(seconds, now) + desk.on_tick(now), now)

    def _fire_deadlines(self, now: float) -> None:
        for desk_id in self._deadlines.pop_due(now):
            desk = self.desks[desk_id]
            self._apply(desk, desk.on_tick(now), now)

    def _maybe_sample(self, now: float) -> None:
        period = self.cfg.history.sample_period
        if self._next_sample is None or abs(now - self._next_sample) > 2 * period:
            self._next_sample = math.ceil(now / period) * period
        if now < self._next_sample:
            return
        at = self._next_sample
        self._next_sample = at + period
        samples = [
            DeskSample(d.desk_id, at, d.s.seated, d.bout_time(at), d.s.online)
            for d in self.desks.values()
        ]
        if self._sampler is None:
            self.history.sample(at, samples)
            return
        try:
            self._samples.put_nowait((at, samples))
        except queue.Full:
            logger.warning(
                "history sample at %.0f skipped: earlier samples are still being written", at
            )

    def _write_samples(self) -> None:
        """Turn samples into points on a thread of their own.

        A sample of every desk costs milliseconds per thousand desks; on the
        owner thread it delayed every alert due meanwhile. Here the owner
        thread only snapshots the desks, and gets the interpreter back within
        one switch interval whenever it has work.
        """
        while True:
            at, samples = self._samples.get()
            if samples is None:
                return
            try:
                self.history.sample(at, samples)
            except Exception:
                logger.exception("could not record the history sample at %.0f", at)

    def _apply(self, desk: Desk, decisions: list[Decision], now: float) -> None:
        """Checkpoint first, then act: a crash in between loses an action, never repeats one."""
        desk_id = desk.desk_id
        if self._held is None:
            self._save_desks({desk_id: now})
        else:
            self._unsaved[desk_id] = now  # saved once, at the end of the batch, before acting
        prefix = self._prefix_of[desk_id]
        alert_id: str | None = None
        for decision in decisions:
            if isinstance(decision, SendAlert):
                alert_id = self._send_alert(prefix, decision)
            elif isinstance(decision, SendClear):
                clear_id = self.ids.next()
                self.recent.remember(clear_id, desk_id, None)
                self._publish(
                    protocol.device_topic(prefix, desk_id, "cmd"), alerts.clear_command(clear_id)
                )
                self.counters.add("clears_out")
            elif isinstance(decision, PublishState):
                view = decision.view
                self._publish(
                    protocol.device_topic(prefix, desk_id, "sitting"),
                    protocol.sitting_state(
                        view.state, view.seated_s, view.level, view.since, view.ts
                    ),
                    retain=True,
                )
            elif isinstance(decision, BoutEnded | AlertSent | Snoozed):
                if isinstance(decision, AlertSent) and alert_id is not None:
                    self.recent.remember(alert_id, desk_id, decision)  # its SendAlert's id
                    alert_id = None
                self.history.record(decision)
        self._deadlines.set(desk_id, desk.next_deadline(now))

    def _send_alert(self, prefix: str, alert: SendAlert) -> str:
        """Command the chair (and notify people); the command id, to match its ack."""
        desk_id = alert.desk
        move = self.moves.next(desk_id)
        cmd_id = self.ids.next()
        self._publish(
            protocol.device_topic(prefix, desk_id, "cmd"),
            alerts.alert_command(cmd_id, alert.level, move),
        )
        self.counters.add("alerts_out")
        logger.info(
            "alert level %d after %.0f s seated",
            alert.level,
            alert.seated_s,
            extra=hublog.desk(desk_id),
        )
        urls = [
            u.get_secret_value() for u in (*self.cfg.notify.urls, *self.cfg.desk(desk_id).notify)
        ]
        if urls:
            note = alerts.alert_notification(desk_id, alert.level, alert.seated_s, move, urls)
            if self._held is None:
                self.notifier.submit(note)
            else:
                self._held_notes.append(note)
        return cmd_id
