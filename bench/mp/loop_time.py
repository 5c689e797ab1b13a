# Times the firmware's sampling-loop iteration under the MicroPython unix port.
# Prints one JSON line: microseconds per App.sample_once (sensor read, median,
# average, hysteresis, debounce, outbox) and, as the baseline, per bare sensor
# read. argv[1]: iterations; argv[2]: a free loopback port (no broker there).
import gc
import json
import sys
import time

import machine
from sitless import board
from sitless.app import App

ITERATIONS = int(sys.argv[1])
CFG = {
    "desk": "d1",
    "transport": "wifi",
    "wifi_ssid": "x",
    "wifi_password": None,
    "mqtt_host": "127.0.0.1",
    "mqtt_port": int(sys.argv[2]),
    "mqtt_user": None,
    "mqtt_password": None,
    "prefix": "sitless",
    "sensor": "adc",
    "sensor_pin": 34,
    "sensor_clk_pin": None,
    "empty": None,
    "occupied": None,
    "seated_ms": 2000,
    "vacant_ms": 5000,
    "buzzer_pin": 25,
    "led_pin": 2,
    "button_pin": 0,
    "motor_pin": None,
    "safe_pin": 15,
    "limit_s": 60,
    "min_break_s": 10,
    "telemetry_s": 1,
    "sample_ms": 200,
}
app = App(CFG, board.Board(CFG), boot="bench")
now = time.ticks_ms()
gc.collect()
start = time.ticks_us()
for i in range(ITERATIONS):
    machine.INPUTS["adc34"] = 1_600_000 if (i // 300) % 2 else 100_000 + (i % 7) * 1000
    now += 200
    app.sample_once(now)
loop_us = time.ticks_diff(time.ticks_us(), start)
gc.collect()
start = time.ticks_us()
for i in range(ITERATIONS):
    machine.INPUTS["adc34"] = 1_600_000 if (i // 300) % 2 else 100_000 + (i % 7) * 1000
    now += 200
    app.sensor.read(now)
read_us = time.ticks_diff(time.ticks_us(), start)
print(
    "LOOP "
    + json.dumps(
        {
            "iterations": ITERATIONS,
            "us_per_iteration": loop_us / ITERATIONS,
            "us_per_sensor_read": read_us / ITERATIONS,
            "transitions": app.chair.seq,
        }
    )
)
