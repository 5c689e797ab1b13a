"""Commands asked of the hub for one desk (the API, Home Assistant's buttons) and their acks.

The hub's own alerts and clears are matched to their acks in ``actions``.
Commands someone asks for (``tare`` from the API, ``identify`` and ``tare``
from Home Assistant's buttons through ``P/D/request``) are sent by the owner thread under
an id of their own and kept here, so the chair's ack is matched to the
command, counted by who asked and how it ended, and handed to whoever waits
for it (the API answers with the chair's ack). Bounded: the oldest go first.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from hub.contract import protocol

KEEP = 1024
ORIGINS = ("api", "homeassistant")


@dataclass(slots=True)
class Pending:
    """One asked-for command: sent or refused by the hub, then the chair's answer."""

    desk: str
    action: str
    origin: str
    id: str
    sent: bool = False
    ok: bool | None = None  # None until answered
    error: str | None = None
    _done: threading.Event = field(default_factory=threading.Event, repr=False)

    def finish(self, ok: bool, error: str | None = None) -> None:
        """The chair's answer (or the hub's refusal before sending)."""
        self.ok, self.error = ok, error
        self._done.set()

    def wait(self, timeout: float) -> bool:
        """Whether an answer came within ``timeout`` seconds."""
        return self._done.wait(timeout)


class CommandBook:
    """Asked-for commands by id, and counts of requests and matched acks by origin."""

    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self.requests: Counter[tuple[str, str]] = Counter()  # (origin, action)
        self.acks: Counter[tuple[str, str]] = Counter()  # (origin, "ok" | "refused")

    def knows(self, cmd_id: str) -> bool:
        """Whether an id was used already (a redelivered request is not acted on twice)."""
        with self._lock:
            return cmd_id in self._pending

    def asked(self, pending: Pending) -> None:
        """Count a request and keep it for its ack."""
        with self._lock:
            self.requests[pending.origin, pending.action] += 1
            self._pending[pending.id] = pending
            while len(self._pending) > self.keep:
                self._pending.popitem(last=False)

    def on_ack(self, ack: protocol.Ack) -> Pending | None:
        """The command this ack answers, if it is one of ours to that desk (first ack only)."""
        with self._lock:
            pending = self._pending.get(ack.id)
            if pending is None or pending.desk != ack.desk or not pending.sent:
                return None
            if pending.ok is None:
                self.acks[pending.origin, "ok" if ack.ok else "refused"] += 1
        if pending.ok is None:
            pending.finish(ack.ok, ack.error)
        return pending

    def snapshot(self) -> dict[str, dict[tuple[str, str], int]]:
        """Copies of the counts, for /metrics."""
        with self._lock:
            return {"requests": dict(self.requests), "acks": dict(self.acks)}
