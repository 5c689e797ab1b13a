"""The few exception types the hub raises; each carries what a person needs to act."""

from __future__ import annotations


class SitlessError(Exception):
    """Base of every error the hub raises on purpose."""


class ConfigError(SitlessError):
    """The configuration cannot be used; the message names the key and the problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ProtocolError(SitlessError):
    """A topic or payload breaks the MQTT contract in docs/protocol.md."""

    def __init__(self, reason: str, topic: str = "") -> None:
        self.reason = reason
        self.topic = topic
        super().__init__(f"{topic}: {reason}" if topic else reason)


class HistoryError(SitlessError):
    """The history store (spool or InfluxDB) refused or failed."""


class DeviceError(SitlessError):
    """A board on a serial port could not be reached or did not answer as expected."""
