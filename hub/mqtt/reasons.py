"""MQTT reason codes as words: for log lines, and as short names for the metrics.

MQTT 5 gives every refusal a reason code (CONNACK, PUBACK, SUBACK,
DISCONNECT); MQTT 3.1.1 has a few CONNACK return codes and one SUBACK failure
(0x80). The words are the specification's own, as other MQTT clients print them.
"""

from __future__ import annotations

REASONS_V5 = {
    0x80: "Unspecified error",
    0x81: "Malformed packet",
    0x82: "Protocol error",
    0x83: "Implementation specific error",
    0x84: "Unsupported protocol version",
    0x85: "Client identifier not valid",
    0x86: "Bad user name or password",
    0x87: "Not authorized",
    0x88: "Server unavailable",
    0x89: "Server busy",
    0x8A: "Banned",
    0x8B: "Server shutting down",
    0x8C: "Bad authentication method",
    0x8D: "Keep alive timeout",
    0x8E: "Session taken over",
    0x8F: "Topic filter invalid",
    0x90: "Topic name invalid",
    0x91: "Packet identifier in use",
    0x93: "Receive maximum exceeded",
    0x94: "Topic alias invalid",
    0x95: "Packet too large",
    0x96: "Message rate too high",
    0x97: "Quota exceeded",
    0x98: "Administrative action",
    0x99: "Payload format invalid",
    0x9A: "Retain not supported",
    0x9B: "QoS not supported",
    0x9C: "Use another server",
    0x9D: "Server moved",
    0x9E: "Shared subscriptions not supported",
    0x9F: "Connection rate exceeded",
    0xA0: "Maximum connect time",
    0xA1: "Subscription identifiers not supported",
    0xA2: "Wildcard subscriptions not supported",
}
# 3.1.1's CONNACK return codes, named as their MQTT 5 counterparts so a log reads the same.
CONNACK_REASONS_V311 = {
    1: "Unsupported protocol version",
    2: "Client identifier not valid",
    3: "Server unavailable",
    4: "Bad user name or password",
    5: "Not authorized",
}
SUBACK_FAILURE_V311 = 0x80
SERVER_SHUTTING_DOWN = 0x8B
SESSION_TAKEN_OVER = 0x8E
PACKET_TOO_LARGE = 0x95


def words(code: int, *, v5: bool = True) -> str:
    """The reason code as the specification names it."""
    if not v5 and code == SUBACK_FAILURE_V311:
        return "Failure"
    return REASONS_V5.get(code, f"reason code 0x{code:02x}")


def label(code: int, *, v5: bool = True) -> str:
    """A metric label for the reason: ``0x95`` -> ``packet_too_large``."""
    return "_".join(words(code, v5=v5).lower().split())
