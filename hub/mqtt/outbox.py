"""What the hub sends: publishes waiting and in flight, acknowledgements, and the bytes to write.

Any thread may queue publishes (``publish_many``) and acknowledge messages
(``ack``); only the network thread writes the socket, taking the bytes with
``take``. Everything here is under one lock, shared with those threads.

At most ``MAX_INFLIGHT`` of our publishes (fewer if the broker's receive
maximum says so) are unacknowledged at once; the rest wait in order. The
bound is large enough for every command of a 09:00 rush to be written as
soon as its desk is saved: with a small window, each further batch of
publishes waited for the network thread to read PUBACKs, which it could only
do between the owner thread's turns with the interpreter. A
publish is never sent larger than the broker takes: over its Maximum Packet
Size (MQTT 5 CONNACK), or at least as large as one it refused as too large
(payload and packet both), it is reported and counted instead of being sent
to get the connection cut. After a reconnect what was in flight goes first:
marked as sent before when the broker kept the session, as a new publish
when it did not (session present = 0: the broker knows nothing of it). Then,
without a session, the latest retained payload of each topic is published
again, since a broker that lost the session most likely lost those too.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import threading

from hub.mqtt import packets as mp
from hub.mqtt import reasons
from hub.mqtt.arrivals import publish_head, topic_of
from hub.mqtt.inbox import Inbound
from hub.mqtt.refusals import Refusals

MAX_INFLIGHT = 20_000  # our unacknowledged publishes (of 65 535 packet ids); the rest wait

Message = tuple[str, bytes, bool]  # (topic, payload, retain)


class Outbox:
    """The outgoing side of the connection, shared by every thread under one lock."""

    def __init__(
        self, refusals: Refusals, *, v5: bool, unkept: frozenset[str] = frozenset()
    ) -> None:
        self.v5 = v5
        # The latest retained payload per topic, sent again when the broker lost our
        # session (and with it, most likely, its retained messages). ``unkept``: topics
        # another part looks after (the hub's status, announced on every connection).
        self._retained: dict[str, bytes] = {}
        self._unkept = unkept
        self._resumed = False  # a connection of this run was accepted before
        self.refusals = refusals
        self.lock = threading.Lock()
        self._idle = threading.Condition(self.lock)  # nothing of ours left unacknowledged
        self._taken = threading.Condition(self.lock)  # the network thread took the bytes queued
        # Bumped whenever a connection starts or ends, so that an acknowledgement is
        # never written on a connection other than the one its message came on.
        self.link = 0
        self.ready = False  # CONNACK received on the current connection; bytes may be queued
        self._out = bytearray()  # bytes for the current connection, written by the network thread
        self._pending: collections.deque[Message] = collections.deque()
        self._inflight: dict[int, bytes] = {}  # packet id -> PUBLISH, oldest first
        self._inflight_cap = MAX_INFLIGHT
        self._next_mid = 0
        self._sub_mid = 0
        self._passed_over: list[Inbound] = []  # dropped on arrival, acked with the next batch
        self._max_packet: int | None = None  # the broker's Maximum Packet Size (MQTT 5 CONNACK)
        # The smallest publish the broker refused as too large: (packet, payload) bytes.
        self._too_large: tuple[int, int] | None = None
        self._suspects: dict[tuple[int, int], int] = {}  # in flight when a link was cut soon
        self._largest_taken = 0  # bytes of the largest publish the broker acknowledged
        self._woken = False  # a byte is on its way through the wake-up pair
        self.wake_r, self._wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self._wake_w.setblocking(False)

    # ---- any thread --------------------------------------------------------------------

    def publish_many(self, messages: list[Message]) -> None:
        """Queue QoS 1 publishes; they go out now, or after the next reconnect."""
        with self.lock:
            self._pending.extend(messages)
            kept = self._retained
            for topic, payload, retain in messages:
                if retain and topic not in self._unkept:
                    if payload:
                        kept[topic] = payload
                    else:  # a deletion: nothing to restore
                        kept.pop(topic, None)
            if self.ready and len(self._inflight) < self._inflight_cap:
                self._fill_locked()
                self._wake_locked()

    def ack(self, messages: list[Inbound]) -> None:
        """Acknowledge committed messages, and those passed over on arrival, in one write.

        Messages from an earlier connection are skipped: the broker sends them
        again on the new one, and their message ids may already mean others.
        QoS 2 (from a broker that does not downgrade) gets PUBREC, which
        plays PUBACK's part.
        """
        with self.lock:
            link = self.link
            every = [*self._passed_over, *messages]
            self._passed_over = []
            mids = [m.mid for m in every if m.link == link and m.qos == 1]
            recs = [m.mid for m in every if m.link == link and m.qos == 2]
            if (mids or recs) and self.ready:
                self._out += mp.pubacks(mids) + (mp.pubrecs(recs) if recs else b"")
                self._wake_locked()

    def pass_over(self, inbound: Inbound) -> None:
        """Acknowledge a message dropped on arrival with the owner thread's next batch.

        Acknowledging it at once, from the network thread, let mosquitto 2.0
        exceed the receive maximum (seen in the flood test); all
        acknowledgements go out after a batch. Refused for good:
        unacknowledged it would come back.
        """
        with self.lock:
            self._passed_over.append(inbound)

    def wait_idle(self, timeout: float) -> None:
        """Wait until nothing of ours is unacknowledged, or the link is gone."""
        with self.lock:
            self._idle.wait_for(
                lambda: not self.ready or not (self._pending or self._inflight), timeout
            )

    def wait_taken(self, timeout: float) -> None:
        """Wait until the network thread has taken the bytes queued so far, or the link is gone.

        The owner thread calls it after queuing a batch of alert commands: while
        it waits, the interpreter is free, so the network thread writes them at
        once instead of at its next turn (up to the switch interval later, or
        more on a busy machine).
        """
        with self.lock:
            if self._out and self.ready:
                self._taken.wait_for(lambda: not self._out or not self.ready, timeout)

    def wake(self) -> None:
        """Make the network thread look again (at the bytes to write, or at closing)."""
        with self.lock:
            self._wake_locked()

    # ---- the network thread ------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue bytes of the network thread's own (a ping, a PUBCOMP)."""
        with self.lock:
            self._out += data

    def take(self) -> bytearray | None:
        """The bytes queued for the socket, handed over and forgotten here; None if none."""
        with self.lock:
            if not self._out:
                return None
            out, self._out = self._out, bytearray()
            self._taken.notify_all()
            return out

    def drain_wake(self) -> None:
        """Empty the wake-up pair; the next wake-up sends a byte again."""
        try:
            while self.wake_r.recv(4096):
                pass
        except BlockingIOError:
            pass
        with self.lock:
            self._woken = False

    def begin(self) -> None:
        """A new connection: nothing queued for it yet, nothing may be queued before CONNACK."""
        with self.lock:
            self.link += 1
            self._out.clear()

    def end(self) -> None:
        """The connection is over: its bytes are dropped, the in-flight publishes kept."""
        with self.lock:
            self.link += 1
            self.ready = False
            self._out.clear()
            self._idle.notify_all()
            self._taken.notify_all()

    def resume(
        self, *, session_present: bool, receive_maximum: int, max_packet: int | None
    ) -> None:
        """CONNACK accepted: resend what was in flight first, then the link is ready."""
        with self.lock:
            self._max_packet = max_packet
            self._inflight_cap = max(1, min(MAX_INFLIGHT, receive_maximum))
            for mid, encoded in list(self._inflight.items()):
                head = publish_head(encoded, v5=self.v5)
                payload = head.payload_size if head is not None else len(encoded)
                why = self._too_large_why(len(encoded), payload)
                if why:
                    del self._inflight[mid]
                    self._not_sent(topic_of(encoded), len(encoded), why)
                    continue
                self._out += mp.with_dup(encoded) if session_present else encoded
            if not session_present and self._resumed and self._retained:
                # Session present = 0 after an earlier connection: the broker restarted
                # without keeping state. The retained views go again, before the rest.
                self._pending.extendleft(
                    reversed([(t, p, True) for t, p in self._retained.items()])
                )
            self._resumed = True
            self.ready = True

    def subscribe(self, filters: list[tuple[str, int]]) -> int:
        """Queue a SUBSCRIBE under a packet id of its own; that id."""
        with self.lock:
            self._sub_mid = 0
            self._sub_mid = self._free_mid_locked()
            self._out += mp.subscribe(self._sub_mid, filters, v5=self.v5)
            return self._sub_mid

    def first(self, messages: list[Message]) -> None:
        """Send these before anything that waits (the hub's ``online`` once subscribed)."""
        with self.lock:
            self._pending.extendleft(reversed(messages))
            self._fill_locked()

    def acked(self, acks: list[tuple[int, int]]) -> bool:
        """PUBACKs for ours, (packet id, reason) each, read together, taken under one lock.

        True if the broker refused any of them (reported, not sent again).
        One lock for a read's PUBACKs, not one each: at a rush thousands come
        back at once, and each time the owner thread found the lock taken, it
        waited for the interpreter as well.
        """
        refused = False
        with self.lock:
            inflight = self._inflight
            for mid, reason in acks:
                encoded = inflight.pop(mid, None)
                if encoded is None:
                    continue
                if reason >= 0x80:
                    self._refused_locked(encoded, reason)
                    refused = True
                elif len(encoded) > self._largest_taken:
                    self._largest_taken = len(encoded)
            if self._pending:
                self._fill_locked()
            elif not inflight:
                self._idle.notify_all()
        return refused

    def give_up_on_suspects(self) -> bool:
        """Drop the largest publish that was in flight both times the broker soon cut the link.

        mosquitto 2.0.11 closes the connection after refusing a publish over
        its ``message_size_limit``, and the close may discard its refusal
        (PUBACK 0x95) before the hub reads it. Sent again on every reconnect,
        such a publish would cut every connection. Only a publish larger than
        any the broker took is a suspect; of those the largest is dropped
        (reported, counted) and the rest are sent again. True if one was dropped.
        """
        with self.lock:
            counts = {}
            for mid, encoded in self._inflight.items():
                if len(encoded) <= self._largest_taken:
                    continue  # the broker took one as large: not a size it refuses
                key = (mid, len(encoded))
                counts[key] = self._suspects.get(key, 0) + 1
            self._suspects = counts  # what is no longer in flight is no longer suspect
            twice = [key for key, n in counts.items() if n >= 2]
            if not twice:
                return False
            mid, size = max(twice, key=lambda key: key[1])
            encoded = self._inflight.pop(mid)
            del self._suspects[mid, size]
        self.refusals.add(
            "closed_by_broker",
            "publish to %s refused, not sent again: the broker closed the connection soon "
            "after each of the 2 times it was sent (%d bytes; a size limit it does not "
            "announce?)",
            topic_of(encoded),
            size,
        )
        return True

    def close(self) -> None:
        """Close the wake-up pair (the network thread has ended)."""
        with self.lock:
            self.wake_r.close()
            self._wake_w.close()

    # ---- under the lock ----------------------------------------------------------------

    def _wake_locked(self) -> None:
        if not self._woken:
            self._woken = True
            # Full of wake-ups already, or closed by stop(): either way nobody is waiting.
            with contextlib.suppress(OSError):
                self._wake_w.send(b"\x00")

    def _fill_locked(self) -> None:
        """Move queued publishes in flight while there is room."""
        v5 = self.v5
        while self._pending and len(self._inflight) < self._inflight_cap:
            topic, payload, retain = self._pending.popleft()
            mid = self._free_mid_locked()
            encoded = mp.publish(topic, payload, mid=mid, retain=retain, v5=v5)
            why = self._too_large_why(len(encoded), len(payload))
            if why:
                self._not_sent(topic, len(encoded), why)
                continue
            self._inflight[mid] = encoded
            self._out += encoded
        if not self._pending and not self._inflight:
            self._idle.notify_all()

    def _too_large_why(self, size: int, payload: int) -> str:
        """Why the broker would refuse a publish of this size, or "" if it would not."""
        if self._max_packet is not None and size > self._max_packet:
            return f"over the broker's maximum packet size ({self._max_packet} bytes)"
        refused = self._too_large
        if refused is not None and size >= refused[0] and payload >= refused[1]:
            return f"as large as one the broker refused as too large ({refused[0]} bytes)"
        return ""

    def _not_sent(self, topic: str, size: int, why: str) -> None:
        self.refusals.add(
            "packet_too_large", "publish to %s refused, not sent: %d bytes is %s", topic, size, why
        )

    def _refused_locked(self, encoded: bytes, reason: int) -> None:
        """The broker refused one of ours (MQTT 5 PUBACK reason): said, counted, not sent again.

        Sending it again would only be refused again (or, for a size refusal,
        get the connection closed again): it is reported instead, and a
        publish as large as one refused for its size is not sent at all.
        """
        if reason == reasons.PACKET_TOO_LARGE:
            head = publish_head(encoded, v5=self.v5)
            size = (len(encoded), head.payload_size if head is not None else len(encoded))
            if self._too_large is None or size < self._too_large:
                self._too_large = size
        self.refusals.add(
            reasons.label(reason),
            "publish to %s refused by the broker (%s, reason 0x%02x); not sent again",
            topic_of(encoded),
            reasons.words(reason),
            reason,
        )

    def _free_mid_locked(self) -> int:
        mid = self._next_mid
        while True:
            mid = mid % 65535 + 1
            if mid not in self._inflight and mid != self._sub_mid:
                self._next_mid = mid
                return mid
