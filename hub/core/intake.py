"""Intake: one inbound message to what it means for a desk, or a counted drop.

The steps, in order: route the topic (``P/D/kind``), ignore the hub's own
messages coming back (but offer a retained ``sitting`` view for seeding, and
hand a ``request`` to the hub's request handling),
check that a payload naming a desk names the topic's desk, parse and
validate the payload, and drop duplicates and replays by ``(boot, seq)``.
The device's own time is used when it is sane (``event_time``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from hub.contract import protocol
from hub.contract.vocabulary import REQUEST_KIND
from hub.errors import ProtocolError
from hub.history.stamps import ReceiveTimes
from hub.mqtt.inbox import Inbound

MAX_FUTURE_S = 30.0
MAX_AGE_S = 86400.0


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


@dataclass(slots=True)
class Seen:
    """Per-desk dedupe state: the current boot and the highest seq in it."""

    boot: str | None = None
    seq: int | None = None

    def is_new(self, boot: str, seq: int) -> bool:
        """Whether ``(boot, seq)`` is newer than anything seen; remembers it if so."""
        if boot == self.boot and self.seq is not None and seq <= self.seq:
            return False
        self.boot, self.seq = boot, seq
        return True


class Routed(NamedTuple):
    """A message for a desk, routed and claim-checked but not yet parsed.

    One is made per message, so it is a NamedTuple, as ``protocol.Topic`` is.
    """

    where: protocol.Topic
    inbound: Inbound


class SeedOffer(NamedTuple):
    """Our own retained ``sitting`` view of a desk, offered for seeding."""

    where: protocol.Topic
    inbound: Inbound


class RequestOffer(NamedTuple):
    """A request to the hub for a desk (``P/D/request``), not yet parsed."""

    where: protocol.Topic
    inbound: Inbound


class Intake:
    """Routes and checks messages; every refusal goes to ``drop(reason, detail)``."""

    def __init__(
        self, prefixes: list[str] | tuple[str, ...], drop: Callable[[str, str], None]
    ) -> None:
        self.prefixes = prefixes
        self._drop = drop
        self._times = ReceiveTimes()

    def route(self, inbound: Inbound) -> Routed | SeedOffer | RequestOffer | None:
        """Where a message goes; None for the hub's own traffic and for drops.

        A desk's message is routed with a receive time distinct from its topic's
        previous one (``ReceiveTimes``: history keeps one point per millisecond).
        """
        try:
            where = protocol.split_topic(inbound.topic, self.prefixes)
        except ProtocolError as exc:
            self._drop("bad_topic", str(exc))
            return None
        if where.desk == protocol.HUB_LEVEL:
            return None  # the hub's own status
        if where.kind in protocol.HUB_KINDS or where.kind == REQUEST_KIND:
            if where.kind == REQUEST_KIND:
                return RequestOffer(where, inbound)
            # Our own commands and views coming back; a retained view may seed the desk.
            return SeedOffer(where, inbound) if where.kind == "sitting" and inbound.retain else None
        claimed = claimed_desk(inbound.payload)
        if claimed is not None and claimed != where.desk:
            self._drop("desk_mismatch", f"{inbound.topic} claims desk {claimed[:60]!r}")
            return None
        stamp = self._times.distinct(inbound.topic, inbound.received)
        if stamp != inbound.received:
            inbound = inbound._replace(received=stamp)
        return Routed(where, inbound)

    @staticmethod
    def parse(routed: Routed) -> protocol.DeviceMessage:
        """The validated message; raises ``ProtocolError`` naming what is wrong."""
        where, inbound = routed.where, routed.inbound
        return protocol.parse_payload(where.desk, where.kind, inbound.payload, inbound.topic)

    @staticmethod
    def event_at(message: protocol.DeviceMessage, received: float) -> float:
        """The message's own time: the device's ``ts`` when sane, else when it arrived."""
        if isinstance(message, protocol.Occupancy | protocol.Button | protocol.Telemetry):
            return event_time(message.ts, received)
        return received

    def is_new(self, seen: Seen, message: protocol.DeviceMessage) -> bool:
        """False (and counted) for an event whose ``(boot, seq)`` was already seen."""
        if not isinstance(message, protocol.Occupancy | protocol.Button):
            return True
        if seen.is_new(message.boot, message.seq):
            return True
        self._drop("duplicate", f"{message.desk} boot {message.boot} seq {message.seq}")
        return False
