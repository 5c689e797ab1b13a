# Runs the firmware's App under the MicroPython unix port for the end-to-end
# tests: argv[1] is the config file; the fake `machine` reads its inputs from
# SITLESS_FAKE_DIR and prints what the outputs do.
import asyncio
import os
import sys

from sitless import board, config, start
from sitless.app import App

cfg = config.load(sys.argv[1])
offline_reboot_ms = int(os.getenv("SITLESS_OFFLINE_REBOOT_MS") or "900000")
app = App(cfg, board.Board(cfg), saved_calib=start.load_calib(), config_path=sys.argv[1],
          offline_reboot_ms=offline_reboot_ms, outbox_path="outbox.bin")
del start  # the app drops the start-up code once its tasks run, as on the board
print("READY boot", app.chair.boot)


async def main():
    app.tasks(True)  # the (fake) board watchdog, as on the board
    await asyncio.Event().wait()  # run until the test kills the process


asyncio.run(main())
