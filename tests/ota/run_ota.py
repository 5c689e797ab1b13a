# Runs the firmware as main.py does, for the update tests: the slot chooser
# first (before any sitless module), then the App with its trial watch. The
# fake `machine.reset` ends the process; the test starts it again, as a board
# would restart. argv[1] is the config file; the working folder is the flash.
import slots

slots.choose()

import asyncio  # noqa: E402
import sys  # noqa: E402

from sitless import board, config, payload, start  # noqa: E402
from sitless.app import App  # noqa: E402

cfg = config.load(sys.argv[1])
app = App(cfg, board.Board(cfg), saved_calib=start.load_calib(), config_path=sys.argv[1])
print("READY fw", payload.FW_VERSION)


async def main():
    app.tasks(True)
    watch = asyncio.create_task(slots.watch(app))
    await asyncio.Event().wait()
    await watch


asyncio.run(main())
