"""The ``SL`` line codec of docs/serial.md, shared by the bridge, calibration and the monitor.

A console line that starts with ``SL `` carries one JSON object ``{"k": kind,
"p": payload}``; every other line is free text (boot messages, tracebacks, the
REPL) that belongs to a person, not to a parser.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from hub.errors import ProtocolError

MARK: Final = "SL "
BOARD_KINDS: Final = frozenset({"status", "occupancy", "telemetry", "button", "info", "ack", "raw"})
HOST_KINDS: Final = frozenset({"cmd", "hub", "stream"})
MAX_LINE: Final = 4096


@dataclass(frozen=True, slots=True)
class SerialMessage:
    """One decoded ``SL`` line: its kind and payload (JSON value, or text for status)."""

    kind: str
    payload: Any


def is_message(line: str) -> bool:
    """Whether a console line is meant for a parser rather than a person."""
    return line.startswith(MARK)


def decode(line: str) -> SerialMessage | None:
    """A console line to a message, None for free text; ProtocolError for a broken ``SL`` line."""
    text = line.rstrip("\r\n")
    if not is_message(text):
        return None
    if len(text) > MAX_LINE:
        raise ProtocolError(f"SL line of {len(text)} characters exceeds {MAX_LINE}")
    try:
        obj = json.loads(text[len(MARK) :])
    except ValueError as exc:
        raise ProtocolError(f"SL line is not JSON ({exc})") from exc
    if not isinstance(obj, dict):
        raise ProtocolError("SL line must hold a JSON object")
    kind = obj.get("k")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError('SL line has no "k" (kind)')
    if "p" not in obj:
        raise ProtocolError(f'SL line of kind {kind!r} has no "p" (payload)')
    return SerialMessage(kind, obj["p"])


def encode(kind: str, payload: Any) -> bytes:
    """One message as a line ready to write to the port."""
    body = json.dumps({"k": kind, "p": payload}, separators=(",", ":"))
    return f"{MARK}{body}\n".encode()


def mqtt_payload(message: SerialMessage) -> bytes:
    """The payload a WiFi board would publish for this message: text for status, else JSON."""
    if message.kind == "status":
        if not isinstance(message.payload, str):
            raise ProtocolError("status payload must be text")
        return message.payload.encode()
    return json.dumps(message.payload, separators=(",", ":")).encode()
