# Runs under MicroPython: feed every case to the firmware's command and config
# checks exactly as the app does, and print one JSON line per case.
import json
import sys

from sitless import commands, config


def unhex(text):
    out = bytearray()
    for i in range(0, len(text), 2):
        out.append(int(text[i : i + 2], 16))
    return bytes(out)


def escaped(exc):
    return {"escaped": f"{type(exc).__name__}: {exc}"}


def configure(found, base):
    try:
        fresh = config.check(found["set"], base)
    except config.ConfigError as exc:
        return {"result": "refused", "id": found["id"], "why": str(exc)}
    except Exception as exc:  # noqa: BLE001 - the point is to catch what escapes
        return escaped(exc)
    return {"result": "ok", "action": "config", "cfg": fresh}


def run(case, base):
    try:
        found, error = commands.parse(unhex(case["hex"]), case["retained"])
    except Exception as exc:  # noqa: BLE001 - the point is to catch what escapes
        return escaped(exc)
    if found is None:
        return {"result": "ignored", "why": error}
    if error is not None:
        return {"result": "refused", "id": found, "why": error}
    if found["action"] != "config":
        return {"result": "ok", "action": found["action"]}
    return configure(found, base)


with open(sys.argv[1]) as f:  # noqa: PTH123 - MicroPython has no pathlib
    batch = json.loads(f.read())
base = config.check(batch["base"])
for case in batch["cases"]:
    print(json.dumps(run(case, base)))
print("DONE")
