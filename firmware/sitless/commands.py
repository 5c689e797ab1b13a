"""Check a command from `P/D/cmd` before anything acts on it, then carry it out.

`parse` never raises: it returns (command dict, None) when the command may be
carried out, (id, error) when it must be refused with an ack of `ok: false`,
and (None, reason) when there is nobody to answer (no id) or nothing to do
(a retained message, which a device must ignore).
"""

import json

MAX_ID = 64


def parse(payload, retained=False):
    if retained:
        return None, "retained command ignored"
    try:
        obj = json.loads(payload)
    except (ValueError, UnicodeError):
        return None, "command is not JSON"
    if not isinstance(obj, dict):
        return None, "command is not a JSON object"
    cmd_id = obj.get("id")
    if not isinstance(cmd_id, str) or not 1 <= len(cmd_id) <= MAX_ID:
        return None, "command has no id"
    action = obj.get("action")
    if action not in ACTIONS:  # the table below: one handler per action
        return cmd_id, "unknown action"
    if action == "alert":
        level = obj.get("level")
        if isinstance(level, bool) or level not in (1, 2, 3):
            return cmd_id, "level must be 1, 2 or 3"
        move = obj.get("move")
        if move is not None and not isinstance(move, str):
            return cmd_id, "move must be text"
    if action == "config" and not isinstance(obj.get("set"), dict):
        return cmd_id, "config needs a set object"
    return obj, None


def run(app, body, retained=False):
    """Check one command and carry it out on `app`, acking it unless nobody can be answered.

    Lives here, not in the app, so that its code takes RAM only while a
    command is handled: the app loads this module for it and drops it after.
    The action's handler comes from `ACTIONS`; it returns None (done), the
    reason for a refusal, or True when it has answered itself.
    """
    found, error = parse(body, retained)
    if found is None:
        print("cmd: ignored:", error)
        return
    if error is None and isinstance(found, dict):  # the command: do it, answer its id
        error = ACTIONS[found["action"]](app, found)
        found = found["id"]
    if error is not True:
        _ack(app, found, error)


def _alert(app, cmd):
    app.actuators.alert(cmd["level"])


def _clear(app, _cmd):
    app.actuators.alert(0)


def _identify(app, _cmd):
    identify(app.actuators)


def _tare(app, _cmd):
    if not app.chair.tare():
        return "seat is taken; tare only while vacant"
    save_calib(app)
    return None


def _config(app, cmd):
    return _configure(app, cmd["set"])


def _reboot(app, cmd):
    _ack(app, cmd["id"])  # first: the ack goes out before the board restarts
    import asyncio

    asyncio.create_task(_restart(app))  # noqa: RUF006 - it ends in a reset; nothing awaits it
    return True


def line(app, kind, body):
    """A host line from the serial link: `stream` raw readings, the `hub`'s status, a `cmd`."""
    if kind == "stream":
        app.streaming = body is True
    elif kind == "hub":
        app.set_hub(body == "online")
        if app.client is None:  # the serial form of connecting: say who this board is
            from sitless import call, serial_link

            serial_link.send("info", call("link", "info", app))
    elif kind == "cmd":
        run(app, json.dumps(body))


# Blink three times, chirping on the first and last blink (steps as in `sitless.actuators`).
IDENTIFY = b"\x0f\x01\x19\x0f\x00\x00\x0f\x01\x00\x0f\x00\x00\x0f\x01\x19\x0f\x00\x00"


def identify(actuators):
    """Blink and chirp once, then the current alert again; kept here, with the commands."""
    actuators.once = IDENTIFY
    actuators.alert(actuators.level)  # from the first step: the one-off plays first


def _ack(app, cmd_id, error=None):
    app.emit(("ack", cmd_id, error is None, error))


def _configure(app, changes):
    """Validate, apply and persist; None when done, else the reason naming the key.

    The validator is loaded for this only and dropped again: a config change
    is rare and its checks are the largest code in the firmware.
    """
    from sitless import config, points, unload

    try:
        fresh = config.check(changes, app.cfg)
        config.save(fresh, app.config_path)
    except config.ConfigError as exc:
        return str(exc)
    except OSError:
        return "config could not be saved"
    finally:
        unload("config")
    app.cfg = fresh
    # Take the settings that change without a reboot: debounce, timer, calibration points.
    chair = app.chair
    chair.debouncer.seated_ms = fresh["seated_ms"]
    chair.debouncer.vacant_ms = fresh["vacant_ms"]
    chair.fallback.limit_ms = fresh["limit_s"] * 1000
    chair.fallback.min_break_ms = fresh["min_break_s"] * 1000
    chair.fallback.max_snoozes = points.snoozes_allowed(fresh)
    fresh_points = points.from_config(fresh)
    unload("points")
    if fresh_points.empty != chair.calib.empty or fresh_points.occupied != chair.calib.occupied:
        chair.calib.set_points(fresh_points.empty, fresh_points.occupied)
    return None


def save_calib(app):
    """Write the calibration baseline to its own file (after a tare, or when it drifted)."""
    cal = app.chair.calib
    cal.saved_baseline = cal.baseline
    try:
        with open(app.calib_path, "w") as f:
            f.write(
                json.dumps({"empty": cal.empty, "occupied": cal.occupied, "baseline": cal.baseline})
            )
    except OSError as exc:
        print("calib: not saved:", exc)


async def _restart(app):
    """Let the ack go out, say goodbye cleanly, then restart."""
    import asyncio

    from sitless import link

    for _ in range(50):
        if not len(app.outbox):
            break
        await asyncio.sleep_ms(100)
    client = app.client
    if client is not None and client.connected:
        try:
            await client.publish(app.base + "status", "offline", True, 1, False)
        except OSError:
            pass
        await link.disconnect(client)
    app.board.reset()


def _update(app, cmd):
    """Start a firmware update (`sitless.ota`, loaded for it); its answer comes when it is done."""
    from sitless import ota, unload

    answer = ota.update(app, cmd)
    if answer is not True:
        unload("ota")  # refused: nothing runs from it
    return answer


# The explicit dispatch table: an action is known when it has a handler here.
ACTIONS = {
    "alert": _alert,
    "clear": _clear,
    "identify": _identify,
    "tare": _tare,
    "config": _config,
    "reboot": _reboot,
    "update": _update,  # firmware updates over WiFi
}


# A refused snooze: two short beeps, felt at once; then the alert goes on.
REFUSED = b"\x08\x00\x1e\x08\x00\x00\x08\x00\x1e\x14\x00\x00"


def press(app, long_press, now):
    """The button: the chair's copy of the rules grants or refuses a snooze at once.

    A refused press (strict mode, or the bout's snoozes used up) gets a
    short double buzz and the alert goes on. A granted one silences the
    board at once only while the hub is away; with the hub there, the hub
    grants it by its own count and clears the alert itself. Every press is
    sent to the hub either way.
    """
    actuators = app.actuators
    chair = app.chair
    alerting = actuators.level > 0
    app.emit(chair.press(long_press, now, alerting))
    if not chair.granted:
        actuators.once = REFUSED
        actuators.alert(actuators.level)  # the one-off first, then the alert again
    elif not chair.fallback.hub_online and (alerting or chair.alert is not None):
        actuators.alert(chair.alert or 0)
