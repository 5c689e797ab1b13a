"""Encode what the board publishes, exactly as docs/protocol.md describes it.

Times travel as integer milliseconds and are written as `seconds.mmm` by hand:
on the ESP32 a float is single precision, which would round today's unix time
to minutes. Strings go through `json.dumps` so quotes and controls are escaped.
"""

import json

FW_VERSION = "0.1.0"


def number(value):
    """A JSON number for an int or a finite float; anything else becomes 0."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    finite = value == value  # noqa: PLR0124 - False only for NaN
    if isinstance(value, float) and finite and abs(value) < 1e15:
        return json.dumps(value)
    return "0"


def timestamp(ts_ms):
    """`null` while the clock is not set, else unix seconds with milliseconds."""
    if ts_ms is None:
        return "null"
    return "%d.%03d" % (ts_ms // 1000, ts_ms % 1000)


def occupancy(seated, seq, boot, ts_ms, uptime_ms, value):
    return (
        '{"seated":%s,"seq":%d,"boot":%s,"ts":%s,"uptime_ms":%d,"value":%s}'
        % (
            "true" if seated else "false",
            seq,
            json.dumps(boot),
            timestamp(ts_ms),
            uptime_ms,
            number(value),
        )
    ).encode()


def button(press, seq, boot, ts_ms, uptime_ms):
    return (
        '{"press":%s,"seq":%d,"boot":%s,"ts":%s,"uptime_ms":%d}'
        % (json.dumps(press), seq, json.dumps(boot), timestamp(ts_ms), uptime_ms)
    ).encode()


def encode(boot, event):
    """The payload for an event tuple from `Chair`, or an ack (`("ack", id, ok, error)`)."""
    kind = event[0]
    if kind == "occupancy":
        return occupancy(event[1], event[2], boot, event[3], event[4], event[5])
    if kind == "button":
        return button("long" if event[1] else "short", event[2], boot, event[3], event[4])
    return ack(event[1], event[2], event[3])


def ack(cmd_id, ok, error=None):
    if ok:
        return ('{"id":%s,"ok":true}' % json.dumps(cmd_id)).encode()
    return (
        '{"id":%s,"ok":false,"error":%s}' % (json.dumps(cmd_id), json.dumps(str(error)[:200]))
    ).encode()
