"""Check a command from `P/D/cmd` before anything acts on it.

`parse` never raises: it returns (command dict, None) when the command may be
carried out, (id, error) when it must be refused with an ack of `ok: false`,
and (None, reason) when there is nobody to answer (no id) or nothing to do
(a retained message, which a device must ignore).
"""

import json

ACTIONS = ("alert", "clear", "identify", "tare", "config", "reboot")
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
    if action not in ACTIONS:
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
