"""The payloads of the MQTT contract as typed models: they validate, and they are the schemas.

Each model is one payload of docs/protocol.md. ``hub.contract.protocol``
validates every message a chair sends through these models (the only parse
path), and the JSON Schemas in ``hub/schemas/`` are generated from them
(``python -m hub.contract.payloads``), so the two can never drift; a test
checks that the committed files equal the generated ones.

Models are strict (``true`` is not ``1``, ``"3"`` is not ``3``) and keep
unknown keys, so a newer chair may add fields; the hub's own ``sitting`` view
allows none.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from hub.contract.vocabulary import MAX_LEVEL, StateName

MAX_SEQ: Final = 2**53
MAX_UPTIME_MS: Final = 2**53
MAX_NUMBER: Final = 1e15
SCHEMA_DIR: Final = Path(__file__).resolve().parents[1] / "schemas"
SCHEMA_BASE: Final = "https://sitless.invalid/schemas/"

_TS_WORDS = "unix seconds from NTP, null when the clock is not set"

BootId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
_Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Seq = Annotated[int, Field(ge=0, le=MAX_SEQ)]
Uptime = Annotated[int, Field(ge=0, le=MAX_UPTIME_MS)]
Number = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
Stamp = Annotated[float | None, Field(ge=0, le=MAX_NUMBER, description=_TS_WORDS)]


def _text(max_len: int) -> Any:
    return Annotated[str, StringConstraints(min_length=1, max_length=max_len)]


class _Payload(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow", frozen=True)


class OccupancyPayload(_Payload):
    """A debounced seated/vacant transition (``P/D/occupancy``)."""

    model_config = ConfigDict(title="occupancy")

    seated: bool
    seq: Seq
    boot: BootId
    ts: Stamp
    uptime_ms: Uptime
    value: Number


class TelemetryPayload(_Payload):
    """The periodic heartbeat with the chair's health (``P/D/telemetry``)."""

    model_config = ConfigDict(title="telemetry")

    ts: Stamp
    uptime_ms: Uptime
    value: Number
    baseline: Number
    rssi: Annotated[int | None, Field(ge=-200, le=50)] = None
    heap_free: Annotated[int, Field(ge=0, le=1 << 40)]
    fw: _text(32)  # type: ignore[valid-type]
    reconnects: Seq
    drift: Number | None = Field(
        None, description="baseline minus the calibrated empty value (the sitless firmware)"
    )


class ButtonPayload(_Payload):
    """A press of the chair's button (``P/D/button``): short snoozes, long pauses."""

    model_config = ConfigDict(title="button")

    press: Literal["short", "long"]
    seq: Seq
    boot: BootId
    ts: Stamp
    uptime_ms: Uptime


class InfoPayload(_Payload):
    """What a chair says about itself on every connect (``P/D/info``, retained)."""

    model_config = ConfigDict(title="info")

    fw: _text(32)  # type: ignore[valid-type]
    board: _text(64)  # type: ignore[valid-type]
    sensor: _text(16)  # type: ignore[valid-type]
    mac: _text(32)  # type: ignore[valid-type]
    boot: BootId


class AckPayload(_Payload):
    """A chair's answer to one command (``P/D/ack``)."""

    model_config = ConfigDict(title="ack")

    id: _text(64)  # type: ignore[valid-type]
    ok: bool
    error: str | None = None


class RequestPayload(_Payload):
    """A request to the hub to act for one desk (``P/D/request``): Home Assistant's buttons."""

    model_config = ConfigDict(title="request")

    id: _text(64)  # type: ignore[valid-type]
    action: Literal["identify", "tare", "pause", "resume"]


class CmdPayload(_Payload):
    """A command from the hub to a chair (``P/D/cmd``); ``alert`` needs a level."""

    model_config = ConfigDict(title="cmd")

    id: _text(64)  # type: ignore[valid-type]
    action: Literal["alert", "clear", "identify", "tare", "config", "reboot", "update"]
    level: Annotated[int, Field(ge=1, le=MAX_LEVEL)] | None = None
    set: dict[str, Any] | None = None
    move: str | None = None
    # update: the version, the base URL, and [name, size, sha256] per file
    version: _text(32) | None = None  # type: ignore[valid-type]
    url: Annotated[str, Field(pattern=r"^http://\S+/$", max_length=200)] | None = None
    files: (
        Annotated[
            list[tuple[_text(64), Annotated[int, Field(ge=0)], _Sha256]],  # type: ignore[valid-type]
            Field(min_length=1, max_length=64),
        ]
        | None
    ) = None
    confirm_s: Annotated[int, Field(ge=1)] | None = None
    seated: bool | None = None


class SittingPayload(BaseModel):
    """The hub's view of one desk (``P/D/sitting``, retained)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, title="sitting")

    state: StateName
    seated_s: Annotated[int, Field(ge=0)]
    level: Annotated[int, Field(ge=0, le=MAX_LEVEL)]
    since: Stamp
    ts: Annotated[float, Field(ge=0, le=MAX_NUMBER)]


MODELS: Final[dict[str, type[BaseModel]]] = {
    "occupancy": OccupancyPayload,
    "telemetry": TelemetryPayload,
    "button": ButtonPayload,
    "info": InfoPayload,
    "ack": AckPayload,
    "cmd": CmdPayload,
    "request": RequestPayload,
    "sitting": SittingPayload,
}

STATUS_SCHEMA: Final = {
    "title": "status",
    "description": "Plain text, not JSON: online or offline (the last will).",
    "type": "string",
    "enum": ["online", "offline"],
}


def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one payload, as committed in ``hub/schemas/NAME.json``."""
    body: dict[str, Any] = (
        dict(STATUS_SCHEMA) if name == "status" else MODELS[name].model_json_schema()
    )
    if name == "cmd":  # a rule across fields, which the model checks in the hub's own encoder
        body["allOf"] = [
            {"if": {"properties": {"action": {"const": "alert"}}}, "then": {"required": ["level"]}},
            {"if": {"properties": {"action": {"const": "config"}}}, "then": {"required": ["set"]}},
            {
                "if": {"properties": {"action": {"const": "update"}}},
                "then": {"required": ["version", "url", "files"]},
            },
        ]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{SCHEMA_BASE}{name}.json",
        **body,
    }


def schema_text(name: str) -> str:
    """The committed file's exact text."""
    return json.dumps(schema(name), indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every schema file (``--check``: only say whether they are up to date)."""
    args = sys.argv[1:] if argv is None else argv
    stale = []
    for name in (*MODELS, "status"):
        path = SCHEMA_DIR / f"{name}.json"
        text = schema_text(name)
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        stale.append(path.name)
        if "--check" not in args:
            path.write_text(text, encoding="utf-8")
    if stale and "--check" in args:
        sys.stderr.write(f"schemas out of date: {', '.join(stale)}\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
