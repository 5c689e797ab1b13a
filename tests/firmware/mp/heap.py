# Measures the firmware's heap under the MicroPython unix port: after importing
# it, after starting the app, and after many sampling iterations. Prints one
# JSON line. argv[1]: a TCP port on loopback. Alone, nothing listens there, so
# the network task keeps retrying, as it would with the broker away. With
# argv[2], a topic prefix, a broker listens there: the app connects, and its
# transitions are published and acknowledged as the samples go on.
#
# Every name in this script is interned when it is compiled, before the
# baseline, into the interpreter's pool of names; the firmware's names fill
# that pool's free room first. A few more names here can make the pool grow
# before the baseline instead of after it, and the figures drop by about 1.9 KB
# without the firmware changing; so the script keeps its names few, reuses the
# firmware's own and is the same for both runs (it left the broker-away
# figures as they were).
# The platform's modules load before the baseline is taken: on a board they are built in.
import asyncio
import binascii  # noqa: F401 - platform module, loaded before the baseline
import gc
import json
import os  # noqa: F401 - platform module, loaded before the baseline
import sys
import time

import machine
import micropython
import network  # noqa: F401 - platform module, loaded before the baseline
import ntptime  # noqa: F401 - platform module, loaded before the baseline

# asyncio loads its stream, event and wait_for parts on first use; they are the platform's too
# (frozen into the board's firmware).
asyncio.open_connection  # noqa: B018 - touching the name loads the module
asyncio.ThreadSafeFlag  # noqa: B018 - touching the name loads the module
asyncio.wait_for_ms  # noqa: B018 - touching the name loads the module
micropython.opt_level(3)  # as firmware/main.py sets it before importing the firmware
gc.collect()
base = gc.mem_alloc()

# As firmware/main.py does: check the config (the validator is then dropped, but the names
# it interned stay), then import the app.
CFG = {
    "desk": "d1", "transport": "wifi", "wifi_ssid": "x", "wifi_password": None,
    "mqtt_host": "127.0.0.1", "mqtt_port": int(sys.argv[1]), "mqtt_user": None,
    "mqtt_password": None, "prefix": sys.argv[2] if len(sys.argv) > 2 else "sitless", "sensor": "adc", "sensor_pin": 34,
    "sensor_clk_pin": None, "empty": None, "occupied": None, "seated_ms": 2000,
    "vacant_ms": 5000, "buzzer_pin": 25, "led_pin": 2, "button_pin": 0, "motor_pin": None,
    "safe_pin": 15, "limit_s": 60, "min_break_s": 10, "telemetry_s": 1, "sample_ms": 200,
}
from sitless import board, config  # noqa: E402

CFG = config.check(CFG)
del config
from sitless.app import App, unload  # noqa: E402

unload("config")

# Everything the running app keeps loaded (some of it is loaded by the start-up code, which is
# dropped again), so that "imported" is all the firmware's code. Loaded only for a moment:
# config (at boot and for a config command), start (until the tasks run), points (the
# calibration from the config, when the chair is built and for a config command), commands (a
# command, a host line, saving the baseline) and link (each attempt to bring the link up, NTP);
# their names stay interned, so "started" and later include those.
import sitless.actuators  # noqa: E402
import sitless.calib  # noqa: E402
import sitless.chair  # noqa: E402
import sitless.mqtt  # noqa: E402
import sitless.outbox  # noqa: E402
import sitless.sensors  # noqa: E402, F401

gc.collect()
imported = gc.mem_alloc() - base

figures = {"imported": imported}


async def settle(app):
    """With the broker: until the link is up, the hub's retained status came back through the
    subscription and every transition so far is acknowledged; False after ten seconds."""
    now = time.ticks_ms()
    while len(app.outbox) or not (app.client.connected and app.chair.fallback.hub_online):
        if time.ticks_diff(time.ticks_ms(), now) > 10_000:
            return False
        await asyncio.sleep_ms(1)
    return True


async def main():
    await asyncio.sleep_ms(0)  # the event loop's own poller exists from here on
    gc.collect()
    figures["loop"] = gc.mem_alloc() - base
    app = App(CFG, board.Board(CFG), boot="heap")
    gc.collect()
    figures["app"] = gc.mem_alloc() - base
    tasks = app.tasks()
    await asyncio.sleep_ms(10)
    gc.collect()
    figures["started"] = gc.mem_alloc() - base
    # With the broker, each transition is published at the next look at the loop and
    # acknowledged before the next one; both figures below are taken with the last one in flight.
    if len(sys.argv) > 2:
        await settle(app)
        gc.collect()
        figures["connected"] = gc.mem_alloc() - base
    now = time.ticks_ms()
    # Warm-up: transitions every 100 samples; with the broker away, until the outbox is full.
    for i in range(4_000):
        machine.INPUTS["adc34"] = 1_600_000 if (i // 100) % 2 else 100_000
        now += 200
        app.sample_once(now)
        if i % 50 == 0:
            if len(sys.argv) > 2 and i % 100 == 0:  # the last transition is acknowledged
                await settle(app)
            await asyncio.sleep_ms(0)
    gc.collect()
    figures["warm"] = gc.mem_alloc() - base
    # Then 10 000 iterations of a chair used all day: a transition every minute, noise.
    for i in range(10_000):
        machine.INPUTS["adc34"] = 1_600_000 if (i // 300) % 2 else 100_000 + (i % 7) * 1000
        now += 200
        app.sample_once(now)
        if i % 50 == 0:
            if len(sys.argv) > 2 and i % 300 == 0:
                await settle(app)
            await asyncio.sleep_ms(0)
    gc.collect()
    figures["after_10000"] = gc.mem_alloc() - base
    if len(sys.argv) > 2:
        await settle(app)
        figures["connects"] = app.connects if app.client.connected else -1  # -1: down at the end
    figures["transitions"] = app.chair.seq
    figures["outbox"] = len(app.outbox)
    figures["modules"] = sorted(name for name in sys.modules if name.startswith("sitless."))
    for task in tasks:
        task.cancel()


asyncio.run(main())
print("HEAP " + json.dumps(figures))
