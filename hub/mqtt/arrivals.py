"""What a connection received, sorted: messages for the inbox, and those passed over on arrival.

Passed over, and acknowledged so the broker does not send them again:

- an empty payload: how MQTT deletes a retained message, not a bad one;
- over MQTT 3.1.1, the hub's own live publishes coming back (3.1.1 has no
  No Local): commands, ``sitting`` views and the hub's status. A retained
  ``sitting`` view still passes, because a new hub seeds desks from it;
- a payload over ``limits.max_payload``, counted ``too_large`` and logged at
  WARNING with its topic and size. One announced larger than that is never
  read into memory: the transport skips its bytes as they come
  (``publish_head`` finds the topic and packet id in its first bytes).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hub.config import LimitsConfig
from hub.contract import protocol
from hub.mqtt import packets as mp
from hub.mqtt.inbox import Inbound
from hub.mqtt.refusals import Refusals

_OWN_KINDS = ("/cmd", "/sitting")

_new_inbound = tuple.__new__  # Inbound's own __new__ adds a Python call per message


@dataclass(frozen=True, slots=True)
class PublishHead:
    """The start of a PUBLISH: enough to refuse it without reading its payload."""

    topic: str
    mid: int
    qos: int
    payload_size: int
    packet_size: int  # from the first byte to the last


def publish_head(data: bytes, *, v5: bool) -> PublishHead | None:
    """Topic, packet id and sizes of the PUBLISH ``data`` starts with; None until enough is in."""
    try:
        length, pos = mp.read_varint(data, 1)
        size = (data[pos] << 8) | data[pos + 1]
        at = pos + 2 + size
        qos = (data[0] >> 1) & 3
        mid = (data[at] << 8) | data[at + 1] if qos else 0
        at += 2 if qos else 0
        if v5:
            props, after = mp.read_varint(data, at)
            at = after + props
        topic = data[pos + 2 : pos + 2 + size].decode("utf-8", "replace")
    except (IndexError, mp.PacketError):
        return None  # the head is not all in yet
    return PublishHead(topic, mid, qos, pos + length - at, pos + length)


def topic_of(encoded: bytes) -> str:
    """The topic of a PUBLISH the packets module encoded (for a log line about it)."""
    _, pos = mp.read_varint(encoded, 1)
    size = (encoded[pos] << 8) | encoded[pos + 1]
    return encoded[pos + 2 : pos + 2 + size].decode("utf-8", "replace")


class Arrivals:
    """Turns a chunk's publishes into inbox messages; hands the passed-over ones to ``refuse``."""

    def __init__(
        self,
        prefixes: list[str],
        limits: LimitsConfig,
        *,
        v5: bool,
        on_drop: Callable[[str], None],
        refuse: Callable[[Inbound], None],
    ) -> None:
        self.limit = limits.max_payload
        self.v5 = v5
        self.on_drop = on_drop
        self.refuse = refuse
        self._hub_status = frozenset(protocol.hub_status_topic(p) for p in prefixes)
        self.dropped = Refusals()  # only for its rate-limited WARNING lines

    def sort(self, publishes: list[mp.Publish], link: int) -> list[Inbound]:
        """The messages for the inbox, all with this chunk's receive time."""
        received = time.time()
        limit = self.limit
        own = None if self.v5 else self._hub_status
        batch = []
        for topic, payload, retain, mid, qos in publishes:
            size = len(payload)
            if (
                size > limit
                or not size
                or (own is not None and not retain and (topic in own or topic.endswith(_OWN_KINDS)))
            ):
                self._pass_over(topic, size, mid, qos, link)
                continue
            batch.append(_new_inbound(Inbound, (topic, payload, retain, received, mid, qos, link)))
        return batch

    def oversized(self, head: PublishHead, link: int) -> None:
        """A publish announced larger than the limit, whose payload was skipped unread."""
        self._pass_over(head.topic, head.payload_size, head.mid, head.qos, link)

    def _pass_over(self, topic: str, size: int, mid: int, qos: int, link: int) -> None:
        if size > self.limit:
            self.on_drop("too_large")
            self.dropped.add(
                "too_large",
                "dropped a message of %d bytes on %s: over limits.max_payload (%d bytes)",
                size,
                topic[:200],
                self.limit,
            )
        self.refuse(Inbound(topic, b"", False, 0.0, mid, qos, link))
