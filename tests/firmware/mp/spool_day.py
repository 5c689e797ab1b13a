# ruff: noqa: UP031 - MicroPython code: %-formatting is its idiom
# MicroPython only: a working day of events made with the broker away, written to the
# outbox's flash part, then the power is cut (the process ends without a goodbye).
# argv[1]: hours of the day; argv[2]: a closed port. Runs in the board's folder.
import sys
import time

import machine
from sitless import board, call, config
from sitless.app import App

HOURS = int(sys.argv[1])
cfg = config.check({"desk": "d1", "wifi_ssid": "x", "mqtt_host": "127.0.0.1",
                    "mqtt_port": int(sys.argv[2]), "sample_ms": 250})
now = time.ticks_ms()
app = App(cfg, board.Board(cfg), calib_path="/dev/null", now=now, outbox_path="outbox.bin")
before = len(app.outbox)
step = 0
# A transition every 90 s (40 an hour), a press every half hour: a busy day.
for i in range(HOURS * 3600 * 4):
    now = time.ticks_add(now, 250)
    machine.INPUTS["adc34"] = 1_600_000 if (i // 360) % 2 else 100_000
    app.sample_once(now)
    if i % 7200 == 3600:
        call("commands", "press", app, False, now)
print("MADE %d %s %d %d" % (app.chair.seq, app.chair.boot, before, len(app.outbox)))
