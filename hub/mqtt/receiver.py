"""Reading the socket: large chunks in, every complete packet out, messages into the inbox.

The network thread reads up to ``READ_BATCH`` bytes at a time, parses every
complete packet in them (``hub.mqtt.packets``), hands the chunk's messages
to the owner thread's bounded inbox in one go and the control packets to
``hub.mqtt.control``. When the inbox is full it reads no more until there is
room, so TCP holds the broker back and nothing is dropped. A publish
announced larger than ``limits.max_payload`` is never held in memory: its
bytes are discarded as they arrive.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
from collections.abc import Callable
from typing import Any

from hub.config import LimitsConfig
from hub.mqtt import packets as mp
from hub.mqtt.arrivals import Arrivals, publish_head
from hub.mqtt.control import LinkLostError
from hub.mqtt.inbox import Inbound, Inbox

RECV_CHUNK = 262144  # bytes asked of the socket at once; thousands of small publishes fit
READ_BATCH = 1 << 20  # read at most this much before handing messages on
WAIT_FOR_ROOM_S = 0.005  # how often a full inbox is looked at again
_TLS_RETRY = (ssl.SSLWantReadError, ssl.SSLWantWriteError)


class Receiver:
    """What came from the broker, parsed; the network thread's alone."""

    def __init__(
        self,
        inbox: Inbox[Any] | queue.Queue[Any],
        limits: LimitsConfig,
        arrivals: Arrivals,
        on_control: Callable[[list[mp.Other]], None],
        *,
        v5: bool,
    ) -> None:
        self.inbox = inbox
        self.limit = limits.max_payload
        self.arrivals = arrivals
        self.on_control = on_control
        self.v5 = v5
        self.link = 0  # the connection the next messages came on
        self._parts: list[bytes] = []  # received bytes not yet parsed (an incomplete packet)
        self._have = 0
        self._need = 0
        self._skip = 0  # bytes still to discard of a publish too large to read
        # Messages read but not yet in the inbox (it was full): nothing more is read from
        # the socket until they are in, so TCP holds the broker back instead of a drop.
        self.waiting: list[Inbound] = []

    def begin(self, link: int) -> None:
        """A new connection: what was half read on the last one is gone."""
        self.link = link
        self._parts, self._have, self._need, self._skip = [], 0, 0, 0

    def read(self, sock: socket.socket) -> bool:
        """Take what the socket has, act on every complete packet; True if bytes came."""
        got = kept = 0
        parts = self._parts
        lost: LinkLostError | None = None
        while got < READ_BATCH:
            try:
                data = sock.recv(RECV_CHUNK)
            except (BlockingIOError, *_TLS_RETRY):
                break
            except OSError as exc:
                lost = LinkLostError(f"read failed ({exc.strerror or exc})")
                break
            if not data:
                lost = LinkLostError("the broker closed the connection")
                break
            got += len(data)
            if self._skip:  # the rest of a publish too large to keep
                if len(data) <= self._skip:
                    self._skip -= len(data)
                    continue
                data = data[self._skip :]
                self._skip = 0
            parts.append(data)
            kept += len(data)
        if kept:
            # What came before the end is still news: a broker that dies right after
            # sending may have kept no copy, so these may be the only ones.
            self._have += kept
            if self._have >= self._need:
                self._take(parts)
        if lost is not None:
            raise lost
        return got > 0

    def retry_waiting(self) -> None:
        """Put what waits for room into the inbox, as far as it goes."""
        if self.waiting:
            self.waiting = self.waiting[self._put_all(self.waiting) :]

    def hand_over_waiting(self, stop: threading.Event) -> None:
        """Put what was read before the connection ended into the inbox, waiting for room.

        The broker may not have kept them (a broker that died right after
        sending); if it did, it sends them again on the next connection and
        the owner thread drops the second copy by ``(boot, seq)``.
        """
        while self.waiting and not stop.is_set():
            self.retry_waiting()
            if self.waiting:
                stop.wait(WAIT_FOR_ROOM_S)
        self.waiting = []

    def _take(self, parts: list[bytes]) -> None:
        """Act on every complete packet in what was received; keep the incomplete rest."""
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        try:
            publishes, others, used, self._need = mp.read_packets(data, v5=self.v5)
        except mp.PacketError as exc:
            raise LinkLostError(f"the broker sent a malformed packet ({exc})") from exc
        rest = data[used:]
        self._parts = [rest] if rest else []
        self._have = len(rest)
        if self._need > self.limit and rest[0] & 0xF0 == mp.PUBLISH:
            self._skip_if_too_large(rest)
        if publishes:
            # Only when the broker sends beyond the receive maximum (or, over 3.1.1, beyond
            # what it allows in flight) can the inbox be full: the rest waits, unread after it.
            batch = self.arrivals.sort(publishes, self.link)
            self.waiting = batch[self._put_all(batch) :]
        if others:  # after the publishes: a DISCONNECT among them ends the link
            self.on_control(others)

    def _skip_if_too_large(self, rest: bytes) -> None:
        """Start discarding a publish whose payload is over the limit, once its head is in.

        Its bytes are thrown away as they arrive instead of being held until
        the whole packet is in (up to 256 MB from a broker without a limit).
        """
        head = publish_head(rest, v5=self.v5)
        if head is None:
            self._need = 0  # parse again with the next bytes: the head is not all in
            return
        if head.payload_size <= self.limit:
            return
        self._skip = head.packet_size - len(rest)
        self._parts, self._have, self._need = [], 0, 0
        self.arrivals.oversized(head, self.link)

    def _put_all(self, batch: list[Inbound]) -> int:
        """Put as many of ``batch`` as fit into the inbox: one lock and one wake-up for all."""
        inbox = self.inbox
        if isinstance(inbox, Inbox):
            return inbox.put_many(batch)
        for n, inbound in enumerate(batch):  # any other queue: one item at a time
            try:
                inbox.put_nowait(inbound)
            except queue.Full:
                return n
        return len(batch)
