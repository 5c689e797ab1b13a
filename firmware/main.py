"""Start the chair firmware, unless safe mode or a bad config says not to.

Safe mode (the app is skipped and the REPL stays free for repairs) comes from
the safe-mode pin held low at boot, or from several boots in a row that never
ran a minute: a crash loop must never brick the board. Setup mode (the chair's
own WiFi network and a setup page, `sitless/setup.py`) comes from a board with
no WiFi configured, or the button held for three seconds just after boot.
"""

import micropython

if hasattr(micropython, "alloc_emergency_exception_buf"):  # the unix port has none
    # Room for a traceback raised inside an interrupt handler.
    micropython.alloc_emergency_exception_buf(100)

# Compile the firmware without line numbers (the level `mpy-cross -O3` uses): over 1 KB less
# RAM for the bytecode; a traceback still names the module and the function.
micropython.opt_level(3)

import slots  # noqa: E402

slots.choose()  # an updated copy of the firmware, when one is active (before any sitless module)

import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402

from sitless import board  # noqa: E402

BOOT_COUNT_FILE = "bootcount"
MAX_FAILED_BOOTS = 5
DEFAULT_SAFE_PIN = 15
CONFIG_FILE = "config.json"
OUTBOX_FILE = "outbox.bin"  # the outbox's part in flash


def _read_boot_count():
    try:
        with open(BOOT_COUNT_FILE) as f:
            return int(f.read())
    except (OSError, ValueError):
        return 0


def _write_boot_count(count):
    try:
        with open(BOOT_COUNT_FILE, "w") as f:
            f.write(str(count))
    except OSError:
        pass


def _safe_pin():
    try:
        with open(CONFIG_FILE) as f:
            pin = json.loads(f.read()).get("safe_pin", DEFAULT_SAFE_PIN)
        return pin if isinstance(pin, int) and not isinstance(pin, bool) else DEFAULT_SAFE_PIN
    except (OSError, ValueError, AttributeError):
        return DEFAULT_SAFE_PIN


def run():
    failed_boots = _read_boot_count()
    from sitless import start  # start-up code: the app drops it once its tasks run

    if start.safe_mode_requested(_safe_pin()):
        print("sitless: safe mode (safe pin held low); the app is not started")
        return
    if failed_boots >= MAX_FAILED_BOOTS:
        _write_boot_count(0)
        print("sitless: safe mode after %d boots that never ran a minute" % failed_boots)
        return
    if start.setup_wanted(CONFIG_FILE):
        del start
        from sitless import setup  # the setup page, never loaded in normal operation

        setup.run(CONFIG_FILE)  # ends in a reset once a good config is saved
        return
    _write_boot_count(failed_boots + 1)
    from sitless import config

    try:
        cfg = config.load()
    except config.ConfigError as exc:
        print("sitless: not started:", exc)
        _write_boot_count(0)
        return
    from sitless.app import App, unload

    del config
    unload("config")  # the validator is loaded again only for a config command
    gc.collect()  # its code goes before the app's objects are laid out

    saved_calib = start.load_calib()
    del start  # so that the app can drop it
    app = App(
        cfg,
        board.Board(cfg),
        saved_calib=saved_calib,
        on_healthy=lambda: _write_boot_count(0),
        outbox_path=OUTBOX_FILE,
    )
    asyncio.run(slots.run(app))  # the app, and the trial of a fresh update


run()
