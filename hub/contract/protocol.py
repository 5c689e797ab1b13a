"""The MQTT contract (docs/protocol.md) as code: check what devices send, build what the hub sends.

Every payload is validated by its model in ``hub.contract.payloads``, the same
models the JSON Schemas in ``hub/schemas`` are generated from, and the shared
vectors in ``tests/vectors`` are checked against both.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple

import orjson
from pydantic import BaseModel, ValidationError

from hub.contract import payloads
from hub.contract.vocabulary import (
    ACTIONS,
    BOOT_ID,
    DESK_ID,
    DEVICE_KINDS,
    HUB_KINDS,
    HUB_LEVEL,
    STATES,
    Kind,
)
from hub.errors import ProtocolError

__all__ = [
    "ACTIONS",
    "BOOT_ID",
    "DESK_ID",
    "DEVICE_KINDS",
    "HUB_KINDS",
    "HUB_LEVEL",
    "STATES",
    "Ack",
    "Button",
    "DeviceMessage",
    "Info",
    "Kind",
    "Occupancy",
    "Request",
    "Status",
    "Telemetry",
    "Topic",
    "command",
    "decode_json",
    "device_topic",
    "hub_status_topic",
    "parse",
    "parse_payload",
    "parse_request",
    "sitting_state",
    "split_topic",
]

MAX_SEQ: Final = payloads.MAX_SEQ
MAX_UPTIME_MS: Final = payloads.MAX_UPTIME_MS
MAX_JSON_DEPTH: Final = 8


# A topic and a message are made for every message the hub takes in, so they are
# NamedTuples: as immutable as a frozen dataclass, made in a quarter of the machine
# instructions (a frozen dataclass sets each field through object.__setattr__).


class Topic(NamedTuple):
    """Where a message came from: the prefix it matched, the desk and the message kind."""

    prefix: str
    desk: str
    kind: str


class Status(NamedTuple):
    """A device's ``online`` or ``offline`` (its last will)."""

    desk: str
    online: bool


class Occupancy(NamedTuple):
    """A debounced seated/vacant transition reported by a device."""

    desk: str
    seated: bool
    seq: int
    boot: str
    ts: float | None
    uptime_ms: int
    value: float


class Telemetry(NamedTuple):
    """The periodic heartbeat with the device's health."""

    desk: str
    ts: float | None
    uptime_ms: int
    value: float
    baseline: float
    rssi: int | None
    heap_free: int
    fw: str
    reconnects: int
    drift: float | None = None


class Request(NamedTuple):
    """A request to the hub to act for a desk (``P/D/request``), with an id of its own."""

    desk: str
    id: str
    action: Literal["identify", "tare", "pause", "resume"]


class Button(NamedTuple):
    """A press of the chair's button: short snoozes, long pauses."""

    desk: str
    press: Literal["short", "long"]
    seq: int
    boot: str
    ts: float | None
    uptime_ms: int


@dataclass(frozen=True, slots=True)
class Info:
    """What a device says about itself on every connect."""

    desk: str
    fw: str
    board: str
    sensor: str
    mac: str
    boot: str
    extra: dict[str, Any] = field(default_factory=dict)


class Ack(NamedTuple):
    """A device's answer to one command."""

    desk: str
    id: str
    ok: bool
    error: str | None


DeviceMessage = Status | Occupancy | Telemetry | Button | Info | Ack


def split_topic(topic: str, prefixes: list[str] | tuple[str, ...]) -> Topic:
    """Find which prefix a topic is under and take the desk and kind from the rest."""
    for prefix in prefixes:
        if topic.startswith(prefix) and topic[len(prefix) : len(prefix) + 1] == "/":
            rest = topic[len(prefix) + 1 :].split("/")
            if len(rest) != 2:
                break
            desk, kind = rest
            if desk != HUB_LEVEL and not DESK_ID.match(desk):
                raise ProtocolError(f"desk id {desk[:60]!r} is not valid", topic)
            return Topic(prefix, desk, kind)
    raise ProtocolError("topic is not <prefix>/<desk>/<kind> under a configured prefix", topic)


def device_topic(prefix: str, desk: str, kind: str) -> str:
    """The topic of one desk's message kind."""
    return f"{prefix}/{desk}/{kind}"


def hub_status_topic(prefix: str) -> str:
    """Where the hub announces itself (retained, last will ``offline``)."""
    return f"{prefix}/{HUB_LEVEL}/status"


def _depth(obj: Any, limit: int) -> bool:
    """True if obj nests no deeper than limit."""
    stack = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
    return True


def decode_json(payload: bytes, topic: str = "") -> dict[str, Any]:
    """Bytes to a JSON object, refusing invalid UTF-8, non-objects and deep nesting.

    orjson rather than the standard library: decoding is a fixed cost of
    every message, and orjson takes a third of the time. It is also stricter
    (no NaN, no integers beyond 64 bits), which the contract allows.
    """
    try:
        obj = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(_not_json(payload, exc), topic) from exc
    if not isinstance(obj, dict):
        raise ProtocolError("payload must be a JSON object", topic)
    # Depth can only exceed the limit if there are more brackets than the limit.
    if payload.count(b"{") + payload.count(b"[") > MAX_JSON_DEPTH and not _depth(
        obj, MAX_JSON_DEPTH
    ):
        raise ProtocolError("payload nests too deeply", topic)
    return obj


def _not_json(payload: bytes, exc: orjson.JSONDecodeError) -> str:
    """Why a payload was refused, in the words the contract uses."""
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError:
        return "payload is not valid UTF-8"
    if "depth" in exc.msg:
        return "payload nests too deeply"
    return f"payload is not JSON ({exc.msg})"


_MODELS: Final[dict[str, type[BaseModel]]] = {
    "occupancy": payloads.OccupancyPayload,
    "telemetry": payloads.TelemetryPayload,
    "button": payloads.ButtonPayload,
    "info": payloads.InfoPayload,
    "ack": payloads.AckPayload,
}
_INFO_KEYS: Final = frozenset(payloads.InfoPayload.model_fields)


def _refusal(exc: ValidationError, topic: str) -> ProtocolError:
    """The first problem a model found, naming the key."""
    first = exc.errors(include_url=False, include_input=False)[0]
    key = ".".join(str(part) for part in first["loc"]) or "payload"
    return ProtocolError(f"{key}: {first['msg']}", topic)


def parse_payload(desk: str, kind: str, payload: bytes, topic: str = "") -> DeviceMessage:
    """Check one device message against the contract's models and return it typed."""
    if kind == "status":
        text = payload.decode("utf-8", "replace").strip()
        if text not in ("online", "offline"):
            raise ProtocolError('status must be "online" or "offline"', topic)
        return Status(desk, text == "online")
    model = _MODELS.get(kind)
    if model is None:
        raise ProtocolError(f"unknown message kind {kind[:40]!r}", topic)
    obj = decode_json(payload, topic)
    try:
        body: Any = model.model_validate(obj)
    except ValidationError as exc:
        raise _refusal(exc, topic) from exc
    if kind == "occupancy":
        # The model's fields from its __dict__: a model's own attribute lookup goes
        # through pydantic's __getattr__ hook, a measurable cost on every message.
        got = body.__dict__
        return Occupancy(
            desk, got["seated"], got["seq"], got["boot"], got["ts"], got["uptime_ms"], got["value"]
        )
    if kind == "telemetry":
        got = body.__dict__
        return Telemetry(
            desk,
            got["ts"],
            got["uptime_ms"],
            got["value"],
            got["baseline"],
            got["rssi"],
            got["heap_free"],
            got["fw"],
            got["reconnects"],
            got["drift"],
        )
    if kind == "button":
        return Button(desk, body.press, body.seq, body.boot, body.ts, body.uptime_ms)
    if kind == "info":
        extra = {k: v for k, v in obj.items() if k not in _INFO_KEYS}
        return Info(desk, body.fw, body.board, body.sensor, body.mac, body.boot, extra)
    return Ack(desk, body.id, body.ok, body.error[:200] if body.error else None)


def parse_request(desk: str, payload: bytes, topic: str = "") -> Request:
    """Check a ``P/D/request`` payload: an id and one of the request actions."""
    obj = decode_json(payload, topic)
    try:
        body = payloads.RequestPayload.model_validate(obj)
    except ValidationError as exc:
        raise _refusal(exc, topic) from exc
    return Request(desk, body.id, body.action)


def parse(
    topic: str, payload: bytes, prefixes: list[str] | tuple[str, ...], max_payload: int = 4096
) -> tuple[Topic, DeviceMessage]:
    """Parse a device message from its topic and payload; ProtocolError says why not."""
    where = split_topic(topic, prefixes)
    if where.desk == HUB_LEVEL:
        raise ProtocolError("messages under _hub are the hub's own", topic)
    if len(payload) > max_payload:
        raise ProtocolError(f"payload of {len(payload)} bytes exceeds {max_payload}", topic)
    return where, parse_payload(where.desk, where.kind, payload, topic)


def command(action: str, cmd_id: str, **fields: Any) -> bytes:
    """Encode a hub-to-device command."""
    if action not in ACTIONS:
        msg = f"unknown action {action!r}"
        raise ValueError(msg)
    body = {"id": cmd_id, "action": action, **fields}
    return orjson.dumps(body)


def sitting_state(state: str, seated_s: float, level: int, since: float | None, ts: float) -> bytes:
    """Encode the hub's view of one desk for ``P/D/sitting``."""
    if state not in STATES:
        msg = f"unknown state {state!r}"
        raise ValueError(msg)
    body = {
        "state": state,
        "seated_s": int(seated_s),
        "level": level,
        "since": since,
        "ts": round(ts, 3),
    }
    return orjson.dumps(body)
