"""Which copy of the firmware runs: the flashed one, or one that an update staged.

An update (`sitless.ota`) writes its files to `fw/<slot>/`, beside the flashed
copy, never over it. The one-line pointer `fw/active` names the slot to run and
the one to go back to ("b a"; "-" is the flashed copy). The update writes a new
pointer and renames it over the old one: the switch is that one rename, so a
power cut leaves the old pointer or the new, never half of one.

A fresh slot runs on trial (`fw/trial`: slot, boots, seconds to confirm). Each
boot counts; the trial ends when the app reaches the broker. A crash loop (over
MAX_TRIAL_BOOTS boots) or the deadline passing without the broker puts the
previous pointer back. This module stays with main.py and is not replaced by an
update, so a broken update cannot break the way back.
"""

import os
import sys

DIR = "fw"
POINTER = "fw/active"
TRIAL = "fw/trial"
FLASHED = "-"
MAX_TRIAL_BOOTS = 3


def _words(path):
    try:
        with open(path) as f:
            return f.read().split()
    except OSError:
        return []


def write(path, text):
    """Replace `path` by a rename, so that it is either the old text or the new."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def pointer():
    """(active, previous) slot names; FLASHED for the copy in the root."""
    words = _words(POINTER)
    if len(words) == 2:
        return words[0], words[1]
    return FLASHED, FLASHED


def trial():
    """(slot, boots, confirm_s) of the slot on trial, or None."""
    words = _words(TRIAL)
    if len(words) != 3:
        return None
    try:
        return words[0], int(words[1]), int(words[2])
    except ValueError:
        return None


def _exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True


def rollback(why):
    """Point back at the previous slot; the name of the slot that runs from the next boot."""
    active, previous = pointer()
    if previous != FLASHED and not _exists(DIR + "/" + previous):
        previous = FLASHED
    write(POINTER, "%s %s" % (previous, FLASHED))
    remove(TRIAL)
    print("ota: back from %s to %s: %s" % (active, previous, why))
    return previous


def choose():
    """At boot, before any `sitless` module loads: put the active slot first on the path."""
    active, _previous = pointer()
    on_trial = trial()
    try:
        if on_trial is not None and on_trial[0] != active:
            remove(TRIAL)  # a switch cut short by a power loss: the old pointer stands
        elif on_trial is not None and on_trial[1] >= MAX_TRIAL_BOOTS:
            active = rollback("%d boots without reaching the broker" % on_trial[1])
        elif on_trial is not None:
            write(TRIAL, "%s %d %d" % (active, on_trial[1] + 1, on_trial[2]))
        if active != FLASHED and not _exists(DIR + "/" + active):
            active = rollback("slot %s is missing" % active)
    except OSError as exc:
        print("ota: trial not updated:", exc)
    if active != FLASHED:
        sys.path.insert(0, DIR + "/" + active)
    return active


async def watch(app):
    """End the trial once the app reaches the broker, or roll back and restart at the deadline."""
    on_trial = trial()
    if on_trial is None or on_trial[0] != pointer()[0]:
        return
    import asyncio
    import time

    started = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), started) < on_trial[2] * 1000:
        client = app.client
        if client is None or client.connected:
            remove(TRIAL)
            print("ota: slot %s confirmed" % on_trial[0])
            return
        await asyncio.sleep_ms(250)
    rollback("no broker within %d s" % on_trial[2])
    app.board.reset()


async def run(app):
    """The app's main, with the trial watched beside it (main.py runs this)."""
    import asyncio

    asyncio.create_task(watch(app))  # noqa: RUF006 - it ends by itself, or in a reset
    await app.main()
