"""What the core needs from the outside world: a history store and a broker connection.

The real ones are ``hub.history.History`` and ``hub.mqtt.transport.MqttTransport``;
tests and benchmarks plug in stand-ins that fit these protocols.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from hub.core.facts import DeskSample, Fact

if TYPE_CHECKING:
    from hub.mqtt.inbox import Inbound


class HistoryStore(Protocol):
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
    """What the service needs from the broker connection (``MqttTransport`` fits)."""

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


@runtime_checkable
class HandOver(Protocol):
    """A transport whose writes another thread makes (``MqttTransport``'s network thread)."""

    def hand_over(self, timeout: float) -> None:
        """Wait, at most ``timeout``, until what is queued is being written."""
