"""The MQTT contract (docs/protocol.md) as code: check what devices send, build what the hub sends.

Parsing is hand-written rather than schema-driven because it sits on the hot
path of every message; the JSON Schemas in ``hub/schemas`` describe the same
rules for other implementations, and the shared vectors in ``tests/vectors``
keep the two in agreement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import orjson

from hub.errors import ProtocolError

DESK_ID: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,47}$")
BOOT_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
HUB_LEVEL: Final = "_hub"
MAX_SEQ: Final = 2**53
MAX_UPTIME_MS: Final = 2**53
MAX_JSON_DEPTH: Final = 8

DEVICE_KINDS: Final = frozenset({"status", "occupancy", "telemetry", "button", "info", "ack"})
HUB_KINDS: Final = frozenset({"cmd", "sitting"})
ACTIONS: Final = frozenset({"alert", "clear", "identify", "tare", "config", "reboot"})
STATES: Final = ("vacant", "seated", "alerting", "snoozed", "paused", "offline")

Kind = Literal["status", "occupancy", "telemetry", "button", "info", "ack"]


@dataclass(frozen=True, slots=True)
class Topic:
    """Where a message came from: the prefix it matched, the desk and the message kind."""

    prefix: str
    desk: str
    kind: str


@dataclass(frozen=True, slots=True)
class Status:
    """A device's ``online`` or ``offline`` (its last will)."""

    desk: str
    online: bool


@dataclass(frozen=True, slots=True)
class Occupancy:
    """A debounced seated/vacant transition reported by a device."""

    desk: str
    seated: bool
    seq: int
    boot: str
    ts: float | None
    uptime_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class Telemetry:
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


@dataclass(frozen=True, slots=True)
class Button:
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


@dataclass(frozen=True, slots=True)
class Ack:
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


class _Fields:
    """Typed access to a decoded payload, each failure naming the key."""

    __slots__ = ("obj", "topic")

    def __init__(self, obj: dict[str, Any], topic: str) -> None:
        self.obj = obj
        self.topic = topic

    def fail(self, key: str, problem: str) -> ProtocolError:
        return ProtocolError(f"{key}: {problem}", self.topic)

    def boolean(self, key: str) -> bool:
        value = self.obj.get(key)
        if not isinstance(value, bool):
            raise self.fail(key, "expected true or false")
        return value

    def integer(self, key: str, lo: int = 0, hi: int = MAX_SEQ) -> int:
        value = self.obj.get(key)
        if type(value) is int and lo <= value <= hi:
            return value  # the usual case, checked first (bool is not int by type)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "expected an integer")
        if not lo <= value <= hi:
            raise self.fail(key, f"out of range {lo}..{hi}")
        return value

    def optional_integer(self, key: str, lo: int, hi: int) -> int | None:
        if self.obj.get(key) is None:
            return None
        return self.integer(key, lo, hi)

    def number(self, key: str, *, optional: bool = False) -> float:
        value = self.obj.get(key)
        if type(value) is float and -1e15 <= value <= 1e15:
            return value  # the usual case (NaN fails the comparison, JSON has no infinity)
        if value is None and optional:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, "expected a number")
        if isinstance(value, int) and abs(value) > MAX_SEQ:
            raise self.fail(key, "expected a finite number")  # float() would overflow
        number = float(value)
        if not math.isfinite(number) or abs(number) > 1e15:
            raise self.fail(key, "expected a finite number")
        return number

    def timestamp(self, key: str = "ts") -> float | None:
        if key not in self.obj:
            raise self.fail(key, "missing (use null when the clock is not set)")
        value = self.obj[key]
        if value is None:
            return None
        number = self.number(key)
        if number < 0:
            raise self.fail(key, "expected unix seconds or null")
        return number

    def text(self, key: str, pattern: re.Pattern[str] | None = None, max_len: int = 64) -> str:
        value = self.obj.get(key)
        if not isinstance(value, str) or not value or len(value) > max_len:
            raise self.fail(key, f"expected a string of 1 to {max_len} characters")
        if pattern is not None and not pattern.match(value):
            raise self.fail(key, f"does not match {pattern.pattern}")
        return value

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.obj.get(key)
        if value not in options:
            raise self.fail(key, f"expected one of {', '.join(options)}")
        return str(value)


def parse_payload(desk: str, kind: str, payload: bytes, topic: str = "") -> DeviceMessage:
    """Check one device message against the contract and return it typed."""
    if kind == "status":
        text = payload.decode("utf-8", "replace").strip()
        if text not in ("online", "offline"):
            raise ProtocolError('status must be "online" or "offline"', topic)
        return Status(desk, text == "online")
    if kind not in DEVICE_KINDS:
        raise ProtocolError(f"unknown message kind {kind[:40]!r}", topic)
    f = _Fields(decode_json(payload, topic), topic)
    if kind == "occupancy":
        return Occupancy(
            desk,
            f.boolean("seated"),
            f.integer("seq"),
            f.text("boot", BOOT_ID, 32),
            f.timestamp(),
            f.integer("uptime_ms", 0, MAX_UPTIME_MS),
            f.number("value"),
        )
    if kind == "telemetry":
        rssi = f.optional_integer("rssi", -200, 50)
        return Telemetry(
            desk,
            f.timestamp(),
            f.integer("uptime_ms", 0, MAX_UPTIME_MS),
            f.number("value"),
            f.number("baseline"),
            rssi,
            f.integer("heap_free", 0, 1 << 40),
            f.text("fw", None, 32),
            f.integer("reconnects", 0, MAX_SEQ),
        )
    if kind == "button":
        press = f.choice("press", ("short", "long"))
        return Button(
            desk,
            "short" if press == "short" else "long",
            f.integer("seq"),
            f.text("boot", BOOT_ID, 32),
            f.timestamp(),
            f.integer("uptime_ms", 0, MAX_UPTIME_MS),
        )
    if kind == "info":
        known = ("fw", "board", "sensor", "mac", "boot")
        extra = {k: v for k, v in f.obj.items() if k not in known}
        return Info(
            desk,
            f.text("fw", None, 32),
            f.text("board", None, 64),
            f.text("sensor", None, 16),
            f.text("mac", None, 32),
            f.text("boot", BOOT_ID, 32),
            extra,
        )
    # ack
    error = f.obj.get("error")
    if error is not None and not isinstance(error, str):
        raise f.fail("error", "expected a string")
    return Ack(desk, f.text("id", None, 64), f.boolean("ok"), error[:200] if error else None)


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
