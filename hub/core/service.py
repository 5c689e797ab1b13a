"""The hub service: the one thread that owns every desk's state.

Messages arrive on a bounded inbox from the MQTT network thread. The owner
thread takes them in batches and, for each batch, inside one ``BatchCommit``:

1. ``Intake`` routes each message, checks its claim, parses it and drops
   duplicates and replays;
2. the ``DeskRegistry`` finds or admits the desk (or seeds it from our own
   retained view);
3. the desk's pure state machine (``sitting.Desk``) turns the event, and any
   deadline that fell due, into decisions;
4. ``Actions`` carries them out: commands, retained views, notifications and
   history facts, all held by the commit;
5. the commit saves the changed desks, then sends what was held, then
   acknowledges the batch's messages to the broker.

Other threads (a status page, the API) only read snapshots or post requests
to a control queue. The service can run in-process, so a demo or test can
construct it from a ``HubConfig``, ``start()`` it on its own thread and
``stop()`` it cleanly.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

from hub.config import HubConfig
from hub.contract import protocol
from hub.core.actions import Actions
from hub.core.asked import AskedCommands
from hub.core.checkpoint import Checkpoint
from hub.core.commit import BatchCommit
from hub.core.counters import Counters, DropLog
from hub.core.drift import Drift, DriftBook
from hub.core.facts import OccupancyChanged, TelemetryReceived
from hub.core.intake import Intake, RequestOffer, SeedOffer
from hub.core.intake import event_time as event_time  # noqa: PLC0414 - re-exported
from hub.core.ports import HistoryStore, NullHistory, Transport
from hub.core.registry import DeskEntry, DeskRegistry
from hub.core.requests import CommandBook, Pending
from hub.core.sampler import Sampler
from hub.core.settle import POLL_S, StartHold
from hub.core.sitting import Decision, Desk
from hub.core.timers import Deadlines
from hub.errors import ProtocolError
from hub.integrations import notify
from hub.mqtt.inbox import Inbound, Inbox
from hub.mqtt.transport import MqttTransport

logger = logging.getLogger(__name__)

CHECKPOINT_FILE = "sitless-checkpoint.sqlite3"
MAX_WAIT_S = 0.5
DRAIN_BATCH = 1000
# Deadlines that fall due together are worked out, committed and sent in chunks that
# start small (the first alerts leave at once) and double up to the largest.
FIRST_DUE_CHUNK = 50
DUE_CHUNK = 400


@dataclass(frozen=True, slots=True)
class _Pause:
    desk: str
    seconds: float | None


class HubService(AskedCommands):
    """Owns the desks. ``start``/``stop`` run it on a thread; ``run`` blocks the caller."""

    def __init__(
        self,
        cfg: HubConfig,
        *,
        history: HistoryStore | None = None,
        transport: Transport | None = None,
        notify_send: Callable[[notify.Notification], bool] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.cfg = cfg
        self.prefixes = cfg.mqtt.prefixes
        self.history: HistoryStore = history if history is not None else NullHistory()
        self.clock = clock
        self.counters = Counters()
        self.inbox: Inbox[Inbound | None] = Inbox(maxsize=cfg.limits.queue_size)
        self.transport: Transport = (
            transport
            if transport is not None
            else MqttTransport(cfg.mqtt, cfg.limits, self.inbox, self.counters.drop)
        )
        self.notifier = notify.Notifier(
            on_result=self.counters.notified, send=notify_send or notify.send_with_apprise
        )
        self.checkpoint = Checkpoint(cfg.state_path(CHECKPOINT_FILE))
        self.registry = DeskRegistry(cfg)
        self.intake = Intake(self.prefixes, self._drop)
        self.commit = BatchCommit(
            checkpoint=self.checkpoint,
            history=self.history,
            transport=self.transport,
            notifier=self.notifier,
            counters=self.counters,
            rows=self.registry.rows,
        )
        self.actions = Actions(cfg, self.history, self.counters, self.commit)
        self.commit.catch_up_with(self.actions.catch_up)
        self.sampler = Sampler(self.history, cfg.history.sample_period)
        self.drift = DriftBook(cfg)
        self.requests = CommandBook()
        self._deadlines = Deadlines()
        self._hold = StartHold(self.transport.connected, clock)
        self._drops = DropLog()
        self._traced = False  # an internal error's traceback was logged once
        self._control: queue.Queue[_Pause | Pending] = queue.Queue()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_step: float | None = None  # time.monotonic() of the owner's latest batch

    @property
    def desks(self) -> dict[str, Desk]:
        """Every desk the hub knows, by id."""
        return self.registry.desks

    # ---- life cycle -----------------------------------------------------------------

    def start(self) -> None:
        """Connect, restore desks from the checkpoint meanwhile, and run the owner thread."""
        # History first: a restored desk, judged once the backlog is in, may end a bout or alert.
        self.history.start()
        self.notifier.start()
        # What arrives while the checkpoint is read waits in the inbox for the owner thread.
        self.transport.start()
        self._restore()
        self.sampler.start()
        self._thread = threading.Thread(target=self.run, name="sitless-hub", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch, then close transport, notifier, history and checkpoint."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        self.sampler.stop(timeout)
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
            batch = [item] if item is not None else []
            batch.extend([m for m in self.inbox.take(DRAIN_BATCH - len(batch)) if m is not None])
            self.step(batch, drained=len(batch) < DRAIN_BATCH)

    def step(self, batch: list[Inbound], *, drained: bool = True) -> None:
        """One batch: its messages, control requests and samples, committed; then due deadlines.

        The messages are judged first (a desk that stood up before its deadline
        gets no alert) and acknowledged once committed; the deadlines then go
        in batches of their own. Wake-ups are not messages; they only end the
        owner loop's wait. Desks restored at start are judged once the broker's
        backlog is in (``hub.core.settle``); ``drained`` says the batch emptied the inbox.
        """
        with self._lock:
            now = self.clock()
            with self.commit.batch(batch):
                for inbound in batch:
                    self._handle_safely(inbound)
                self._handle_control(now)
                self.sampler.maybe_sample(self.clock(), self.registry.desks.values())
            self._settle_restored(drained=drained)
            self._fire_deadlines(self.clock())
            self.last_step = time.monotonic()

    # ---- what other threads may call -----------------------------------------------

    def pause(self, desk_id: str, seconds: float | None = None) -> None:
        """Pause a desk's alerts (``seconds`` defaults to ``sitting.pause``; 0 resumes)."""
        self._control.put(_Pause(desk_id, seconds))
        self._wake()

    def command(self, desk_id: str, action: str, origin: str = "api") -> Pending:
        """Have the owner thread send ``action`` to a desk's chair; ``wait`` on it for the ack."""
        pending = Pending(desk_id, action, origin, self.actions.ids.next())
        self._control.put(pending)
        self._wake()
        return pending

    def drifts(self) -> dict[str, Drift]:
        """Every chair's latest reported drift, with its verdict."""
        with self._lock:
            return self.drift.snapshot()

    def views(self) -> list[DeskEntry]:
        """Every desk as it is now, for a status page."""
        with self._lock:
            return self.registry.entries(self.clock())

    def views_since(
        self, marks: Mapping[str, Hashable]
    ) -> tuple[dict[str, Hashable], list[DeskEntry]]:
        """Every desk's mark, and the desks whose view changed since ``marks`` (a page's poll)."""
        with self._lock:
            return self.registry.entries_since(marks, self.clock())

    @property
    def connected(self) -> bool:
        """Whether the broker connection is up."""
        return self.transport.connected.is_set()

    @property
    def running(self) -> bool:
        """Whether the owner thread is alive (it ends only with stop())."""
        return self._thread is not None and self._thread.is_alive()

    # ---- the owner thread's work ----------------------------------------------------

    def _wake(self) -> None:
        # A full inbox means the loop is busy anyway and will see the stop flag soon.
        with contextlib.suppress(queue.Full):
            self.inbox.put_nowait(None)

    def _wait_time(self) -> float:
        due = self._deadlines.next_time()
        wait = MAX_WAIT_S if due is None else due - self.clock()
        return min(POLL_S if self._hold.active else MAX_WAIT_S, max(0.0, wait))

    def _restore(self) -> None:
        with self._lock, self.commit.batch([]):
            now = self.clock()
            for desk in self.registry.restore(self.checkpoint, now, watch=self._hold.watch):
                self._hold.hold(desk.desk_id)

    def _settle_restored(self, *, drained: bool) -> None:
        """Once the backlog is in, restored desks wait for their deadlines like any other.

        A desk whose deadline passed, or whose view the broker does not hold as
        it stands (``DeskRegistry.held_deadline``), is due at once, and
        ``_fire_deadlines`` judges it next, in the rush's chunks: the first
        alerts leave while the rest are worked out, and a fleet whose views are
        in place is neither saved nor published again.
        """
        released = self._hold.release(drained=drained)
        if not released:
            return
        now = self.clock()
        desks = self.registry.desks
        for desk_id in released:
            desk = desks.get(desk_id)
            if desk is not None:
                self._deadlines.set(desk_id, self.registry.held_deadline(desk, now))
        self.registry.settled()
        logger.info("the broker's backlog is in: %d restored desk(s) judged", len(released))

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
            # A bug must cost one message, not the hub. The traceback (for the developer)
            # goes to the log once; after that, a count at most once a minute.
            self.counters.drop("internal_error")
            if self._traced:
                self._drops.note("internal_error", inbound.topic, self.clock())
            else:
                self._traced = True
                logger.exception("could not process a message on %s", inbound.topic[:200])

    def _handle(self, inbound: Inbound) -> None:
        routed = self.intake.route(inbound)
        if routed is None:
            return
        if isinstance(routed, SeedOffer):
            now = self.clock()
            seeded = self.registry.seed(routed.where, routed.inbound.payload, now)
            if seeded is not None:
                self._apply(seeded, seeded.on_tick(now), now)
            return
        if isinstance(routed, RequestOffer):
            self._request(routed)
            return
        where = routed.where
        desk = self.registry.get(where.desk)
        if desk is None and not self._admits(where):
            self._drop("too_many_desks", inbound.topic)
            return
        message = self.intake.parse(routed)  # a desk is admitted only once it says something valid
        if desk is None:
            desk = self.registry.add(where.desk, where.prefix)
        else:
            self.registry.prefix_of[where.desk] = where.prefix
        if not self.intake.is_new(self.registry.seen_for(where.desk), message):
            return
        self.registry.heard[where.desk] = self.clock()
        # Time is judged at the event's own time: an event that waited in the broker
        # while the hub was away must not be judged at the hub's now (a bout that
        # ended long ago would alert). Deadlines due by now fire after the batch.
        at = self.intake.event_at(message, routed.inbound.received)
        decisions = self._feed(desk, message, at)
        self._apply(desk, decisions + desk.on_tick(at), self.clock())

    def _admits(self, where: protocol.Topic) -> bool:
        """Whether a new desk may join; a full prefix first forgets its long-silent desks."""
        if self.registry.admits(where.desk, where.prefix):
            return True
        for desk_id, prefix in self.registry.sweep(self.clock()):
            self._deadlines.set(desk_id, None)
            self.drift.forget(desk_id)
            self.commit.forget(desk_id)
            self.commit.publish(protocol.device_topic(prefix, desk_id, "sitting"), b"", retain=True)
        return self.registry.admits(where.desk, where.prefix)

    def _feed(self, desk: Desk, message: protocol.DeviceMessage, at: float) -> list[Decision]:
        """Hand one parsed, new message to its desk; ``at`` is its time (``Intake.event_at``)."""
        desk_id = desk.desk_id
        if isinstance(message, protocol.Occupancy):
            self.history.record(
                OccupancyChanged(desk_id, at, message.seated, message.seq, message.value)
            )
            return desk.on_occupancy(message.seated, at)
        if isinstance(message, protocol.Button):
            return desk.on_button(message.press, at)
        if isinstance(message, protocol.Status):
            return desk.on_status(message.online, at)
        if isinstance(message, protocol.Telemetry):
            self.history.record(TelemetryReceived(desk_id, at, message))
            if self.drift.note(desk_id, message.drift, at):
                self._log_drift(desk_id)
            return desk.on_telemetry(at)
        if isinstance(message, protocol.Ack) and not self._asked_ack(message):
            self.actions.on_ack(message)
        return []

    def _handle_control(self, now: float) -> None:
        while True:
            try:
                request = self._control.get_nowait()
            except queue.Empty:
                return
            if isinstance(request, Pending):
                self._send_asked(request, now)
                continue
            desk = self.registry.get(request.desk)
            if desk is None:
                logger.warning("pause asked for unknown desk %s", request.desk[:60])
                continue
            seconds = self.cfg.sitting.pause if request.seconds is None else request.seconds
            self._apply(desk, desk.pause(seconds, now) + desk.on_tick(now), now)

    def _fire_deadlines(self, now: float) -> None:
        """Every deadline due by ``now``, in commits of up to ``DUE_CHUNK`` desks (``commit.due``).

        At 09:00 thousands of deadlines fall due in the same instant. Each chunk
        is taken from the heap, ticked, saved and its commands handed to the
        network thread before the next, so the first alerts are delivered while
        the hub works on the rest. Only commands are made on the way; views,
        notifications, history (``Actions.catch_up``), next deadlines and the
        garbage collector (milliseconds a pass, on the alerts' path) follow.
        """
        size = FIRST_DUE_CHUNK
        due = self._deadlines.pop_due(now, size)
        if not due:
            return
        desks, prefix_of = self.registry.desks, self.registry.prefix_of
        changed, carry_out = self.commit.changed, self.actions.carry_out
        fired: list[str] = []
        collecting = gc.isenabled()
        gc.disable()
        try:
            while due:
                with self.commit.due():
                    for desk_id in due:
                        desk = desks[desk_id]
                        changed(desk_id, now)
                        carry_out(prefix_of[desk_id], desk_id, desk.on_tick(now))
                fired += due
                size = min(2 * size, DUE_CHUNK)
                due = self._deadlines.pop_due(now, size)
        finally:
            if collecting:
                gc.enable()
            try:
                for desk_id in fired:
                    if not self._hold.holds(desk_id):
                        self._deadlines.set(desk_id, desks[desk_id].next_deadline(now))
            finally:
                self.commit.after_due()  # then Actions.catch_up

    def _apply(self, desk: Desk, decisions: list[Decision], now: float) -> None:
        """Mark the desk for the batch's checkpoint, act through the commit, set its deadline."""
        desk_id = desk.desk_id
        self.commit.changed(desk_id, now)
        self.actions.carry_out(self.registry.prefix_of[desk_id], desk_id, decisions)
        if not self._hold.holds(desk_id):
            self._deadlines.set(desk_id, desk.next_deadline(now))
