# ruff: noqa: PTH123 - MicroPython code: no pathlib
# Re-encodes every valid device vector through the firmware's payload module
# and runs every command vector through its command checks; prints one line
# per case for the CPython side to judge. argv[1]: the vectors folder.
import json
import sys

from sitless import commands, link, payload, report

FOLDER = sys.argv[1]


def load(kind):
    with open(FOLDER + "/" + kind + ".json") as f:
        return json.loads(f.read())


def ms(ts):
    return None if ts is None else round(ts * 1000)


def encode(kind, v):
    if kind == "occupancy":
        return payload.occupancy(v["seated"], v["seq"], v["boot"], ms(v["ts"]), v["uptime_ms"],
                                 v["value"])
    if kind == "button":
        return payload.button(v["press"], v["seq"], v["boot"], ms(v["ts"]), v["uptime_ms"])
    if kind == "telemetry":
        return report.telemetry(ms(v["ts"]), v["uptime_ms"], v["value"], v["baseline"],
                                 v["rssi"], v["heap_free"], v["reconnects"])
    if kind == "info":
        return link.info_payload(v["board"], v["sensor"], v["mac"], v["boot"], v["heap_free"],
                                 v["desk"])
    return payload.ack(v["id"], v["ok"], v.get("error"))


for kind in ("occupancy", "button", "telemetry", "info", "ack"):
    for index, vector in enumerate(load(kind)["valid"]):
        print("ENC " + json.dumps({"kind": kind, "index": index,
                                   "payload": encode(kind, vector).decode()}))

cmd = load("cmd")
for group in ("valid", "invalid"):
    for index, case in enumerate(cmd[group]):
        body = case if group == "valid" else case["payload"]
        found, error = commands.parse(json.dumps(body).encode())
        if error is None:
            outcome = "run"
            ack = None
        elif found is None:
            outcome = "dropped"
            ack = None
        else:
            outcome = "refused"
            ack = payload.ack(found, False, error).decode()
        print("CMD " + json.dumps({"group": group, "index": index, "outcome": outcome,
                                   "ack": ack}))
