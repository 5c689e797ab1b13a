"""What the broker says on a connection besides messages, and what the hub does about it.

- CONNACK: a refusal is a WARNING and ends the attempt; an acceptance takes
  the broker's keepalive, receive maximum and Maximum Packet Size, resends
  what was in flight (``Outbox.resume``) and subscribes.
- SUBACK: granted, the hub announces ``online`` on every prefix and the link
  counts as connected. Refused, it cannot hear the chairs, so it must not
  tell them it is there (they would not alert on their own): a WARNING with
  the reason, ``offline`` stays, and it asks again in ``RESUBSCRIBE_S``.
- PUBACK with a reason of 0x80 or more: the broker refused one of ours
  (``Outbox.acked`` says and counts it).
- PUBREL: the broker's half of a QoS 2 exchange it started; PUBCOMP ends it.
- DISCONNECT: a WARNING for a refusal (a session takeover waits before
  trying again), then the link is lost.

Subscriptions are QoS 1 on ``P/+/+``; over MQTT 5 with No Local, so the
broker does not echo the hub's own commands and views back (3.1.1 has no
No Local: ``hub.mqtt.arrivals`` passes them over instead).
"""

from __future__ import annotations

import logging
import threading
import time

from hub.config import MqttConfig
from hub.contract import protocol
from hub.mqtt import packets as mp
from hub.mqtt import reasons, replies
from hub.mqtt.backoff import TAKEOVER_WAIT_S, Backoff
from hub.mqtt.connection import HUB_OFFLINE
from hub.mqtt.outbox import Outbox
from hub.mqtt.refusals import Refusals

logger = logging.getLogger(__name__)

HUB_ONLINE = b"online"
RESUBSCRIBE_S = 60.0  # after a refused subscription: when to ask again


class LinkLostError(Exception):
    """The connection is gone or unusable; the reason is the message."""


class RefusedError(LinkLostError):
    """The broker answered CONNECT with a refusal (already logged)."""


class Control:
    """Acts on the broker's control packets for the connection of the moment."""

    def __init__(
        self,
        cfg: MqttConfig,
        outbox: Outbox,
        backoff: Backoff,
        refusals: Refusals,
        connected: threading.Event,
    ) -> None:
        self.cfg = cfg
        self.v5 = cfg.protocol == "5"
        self.outbox = outbox
        self.backoff = backoff
        self.refusals = refusals
        self.connected = connected
        self.connects = 0
        self.keepalive = float(int(cfg.keepalive))  # the broker may ask for another
        self.troubled = False  # something was refused on this connection
        self.resubscribe_at: float | None = None
        prefixes = cfg.prefixes
        flags = 1 | mp.SUB_NO_LOCAL if self.v5 else 1
        self._filters = [(f"{p}/+/+", flags) for p in prefixes]
        self._statuses = [protocol.hub_status_topic(p) for p in prefixes]
        self._sub_mid = 0

    def begin(self) -> None:
        """A new connection: nothing refused on it yet, no subscription asked."""
        self.troubled = False
        self.resubscribe_at = None

    def handle(self, packets: list[mp.Other]) -> None:
        """Act on each control packet in order; raises ``LinkLostError`` when the link ends."""
        acks: list[tuple[int, int]] = []  # PUBACKs in a row, taken by the outbox at once
        try:
            for first, body in packets:
                if first & 0xF0 == mp.PUBACK:
                    acks.append(replies.read_puback(body))
                    continue
                if acks:
                    self._acked(acks)
                self._other(first, body)
        except mp.PacketError as exc:
            raise LinkLostError(f"the broker sent a malformed packet ({exc})") from exc
        finally:
            if acks:
                self._acked(acks)

    def _acked(self, acks: list[tuple[int, int]]) -> None:
        if self.outbox.acked(acks):
            self.troubled = True
        acks.clear()

    def _other(self, first: int, body: bytes) -> None:
        kind, v5 = first & 0xF0, self.v5
        if kind == mp.PUBREL:
            self.outbox.write(mp.pubcomp(replies.read_puback(body)[0]))
        elif kind == mp.CONNACK:
            self._connack(replies.read_connack(body, v5=v5))
        elif kind == mp.SUBACK:
            self._suback(*replies.read_suback(body, v5=v5))
        elif kind == mp.DISCONNECT:
            self._disconnected(*replies.read_disconnect(body, v5=v5))
        elif kind != mp.PINGRESP:
            logger.debug("ignored an unexpected packet of type %d", first >> 4)

    def subscribe(self) -> None:
        """Ask for every prefix's messages; the SUBACK decides whether the hub is ``online``."""
        self.resubscribe_at = None
        self._sub_mid = self.outbox.subscribe(self._filters)

    def _connack(self, connack: replies.Connack) -> None:
        if connack.reason != 0:
            logger.warning("broker refused the connection: %s", connack.why(v5=self.v5))
            raise RefusedError(connack.why(v5=self.v5))
        self.keepalive = float(connack.server_keepalive or int(self.cfg.keepalive))
        self.outbox.resume(
            session_present=connack.session_present,
            receive_maximum=connack.receive_maximum,
            max_packet=connack.maximum_packet_size,
        )
        # Resubscribing also covers session present = 0, where the broker lost ours.
        self.subscribe()
        self.connects += 1
        logger.info("connected to the broker (session present: %s)", connack.session_present)

    def _suback(self, mid: int, codes: list[int]) -> None:
        if mid != self._sub_mid:
            return
        if any(code >= 0x80 for code in codes):
            refused = [
                f for (f, _), code in zip(self._filters, codes, strict=False) if code >= 0x80
            ]
            self.refusals.add(
                "subscription",
                "the broker refused the subscription to %s (%s); the hub hears no chair and "
                "stays offline; asking again in %g s",
                ", ".join(refused),
                ", ".join(f"{reasons.words(c, v5=self.v5)}, reason 0x{c:02x}" for c in codes),
                RESUBSCRIBE_S,
            )
            self.outbox.publish_many([(topic, HUB_OFFLINE, True) for topic in self._statuses])
            self.resubscribe_at = time.monotonic() + RESUBSCRIBE_S
            return
        self.outbox.first([(topic, HUB_ONLINE, True) for topic in self._statuses])
        self.connected.set()

    def _disconnected(self, reason: int, text: str | None) -> None:
        words = reasons.words(reason)
        detail = f"{words}, reason 0x{reason:02x}{': ' + text if text else ''}"
        if reason == reasons.SESSION_TAKEN_OVER:
            self.backoff.taken_over = True
            self.refusals.add(
                reasons.label(reason),
                "the broker disconnected the hub: another client connected with its client id "
                "%r (session taken over); trying again in %g s at the earliest",
                self.cfg.client_id,
                TAKEOVER_WAIT_S,
            )
        elif reason >= 0x80 and reason != reasons.SERVER_SHUTTING_DOWN:
            self.troubled = True
            self.refusals.add(reasons.label(reason), "the broker disconnected the hub (%s)", detail)
        raise LinkLostError(f"the broker disconnected us ({detail})")
