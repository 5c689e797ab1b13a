# Runs the firmware's App under the MicroPython unix port for the end-to-end
# tests: argv[1] is the config file; the fake `machine` reads its inputs from
# SITLESS_FAKE_DIR and prints what the outputs do.
import asyncio
import os
import sys

from sitless import board, config
from sitless.app import App, load_calib

cfg = config.load(sys.argv[1])
offline_reboot_ms = int(os.getenv("SITLESS_OFFLINE_REBOOT_MS") or "900000")
app = App(cfg, board.Board(cfg), saved_calib=load_calib(), config_path=sys.argv[1],
          offline_reboot_ms=offline_reboot_ms)
print("READY boot", app.boot)


async def main():
    app.tasks(app.board.watchdog(30000))
    await asyncio.Event().wait()  # run until the test kills the process


asyncio.run(main())
