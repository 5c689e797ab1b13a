"""The heartbeat's work, loaded for it (at most once a minute) and dropped after.

Telemetry when it is due, the drifted baseline saved when it moved, the clock
kept fresh from NTP, and the mark that this boot was a good one. None of it is
needed between heartbeats, so its code takes no RAM then.
"""

import gc
import json
import time

from sitless import call, payload, serial_link
from sitless.compat import const

_CALIB_SAVE_MS = const(600_000)  # 10 minutes
_SAVE_DRIFT_PERCENT = const(2)  # of the span: a baseline that moved this far is saved
_NTP_RETRY_MS = const(600_000)  # 10 minutes
_NTP_REFRESH_MS = const(21_600_000)  # 6 hours
_HEALTHY_AFTER_MS = const(60_000)


def telemetry(ts_ms, uptime_ms, value, baseline, rssi, heap_free, reconnects, extra=None):
    """The heartbeat; `extra` is a dict of further numbers (dropped, rejected, drift)."""
    number = payload.number
    text = (
        '{"ts":%s,"uptime_ms":%d,"value":%s,"baseline":%s,"rssi":%s,"heap_free":%d,'
        '"fw":%s,"reconnects":%d'
        % (
            payload.timestamp(ts_ms),
            uptime_ms,
            number(value),
            number(baseline),
            "null" if rssi is None else "%d" % rssi,
            heap_free,
            json.dumps(payload.FW_VERSION),
            reconnects,
        )
    )
    if extra:
        for key in extra:
            text += ",%s:%s" % (json.dumps(key), number(extra[key]))
    return (text + "}").encode()


def beat(app, now):
    """One heartbeat of `app` at `now` (ticks)."""
    chair = app.chair
    cal = chair.calib
    client = app.client
    if time.ticks_diff(now, app.tele_at) >= app.cfg["telemetry_s"] * 1000:
        app.tele_at = now
        extra = {
            "dropped": app.outbox.dropped,
            "rejected": cal.rejected,
            "drift": cal.baseline - cal.empty,
        }
        rssi = app.board.wlan
        try:
            rssi = int(rssi.status("rssi")) if rssi and rssi.isconnected() else None
        except (OSError, ValueError, TypeError):
            rssi = None
        body = telemetry(
            app.board.unix_ms(),
            chair.uptime_ms,
            chair.value,
            cal.baseline,
            rssi,
            gc.mem_free(),
            max(app.connects - 1, 0),
            extra,
        )
        serial_link.send("telemetry", body)
        if client is not None:
            app.heartbeat = body  # sent (the latest only) when the link can take it
    if time.ticks_diff(now, app.calib_at) >= _CALIB_SAVE_MS:
        app.calib_at = now
        if abs(cal.baseline - cal.saved_baseline) * 100 > cal.span * _SAVE_DRIFT_PERCENT:
            call("commands", "save_calib", app)
    ntp_every = _NTP_REFRESH_MS if app.board.clock_synced else _NTP_RETRY_MS
    if time.ticks_diff(now, app.ntp_at) >= ntp_every and client and client.connected:
        app.ntp_at = now  # the first sync happens at connect; this keeps it fresh
        call("link", "sync_time", app.board)
    if app.on_healthy is not None and chair.uptime_ms >= _HEALTHY_AFTER_MS:
        app.on_healthy()  # a minute of sampling: this boot counts as a good one
        app.on_healthy = None
