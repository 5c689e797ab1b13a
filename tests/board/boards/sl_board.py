# A stand-in board for the serial tests, run by the real MicroPython unix port.
# It speaks the SL protocol of docs/serial.md on stdin/stdout. Like a board that
# booted long before the host opened the port, it stays silent until the first
# host line; the first hub line makes it announce itself and report one bad and
# one good occupancy; later hub lines repeat its info with the hub state. It acks
# every command (ok only for the alert the tests send).
import json
import sys

desk = sys.argv[1] if len(sys.argv) > 1 else "desk-7"


def send(kind, payload):
    sys.stdout.write("SL " + json.dumps({"k": kind, "p": payload}) + "\n")


def info(**more):
    body = {
        "fw": "0.1.0",
        "board": "unix-standin",
        "sensor": "adc",
        "mac": "00:11:22:33:44:55",
        "boot": "b00t1",
        "desk": desk,
    }
    body.update(more)
    send("info", body)


def first_words():
    send("status", "online")
    send("occupancy", {"seated": True, "boot": "b00t1", "ts": None, "uptime_ms": 10, "value": 1.0})
    send(
        "occupancy",
        {"seated": True, "seq": 1, "boot": "b00t1", "ts": None, "uptime_ms": 20, "value": 1830.5},
    )
    send(
        "telemetry",
        {
            "ts": None,
            "uptime_ms": 30,
            "value": 1830.5,
            "baseline": 400.0,
            "rssi": None,
            "heap_free": 100000,
            "fw": "0.1.0",
            "reconnects": 0,
        },
    )
    sys.stdout.write("SL {not json\n")


started = False

while True:
    line = sys.stdin.readline()
    if not line:
        break
    line = line.strip()
    if not line.startswith("SL "):
        continue
    msg = json.loads(line[3:])
    if msg["k"] == "cmd":
        cmd = msg["p"]
        good = cmd.get("action") == "alert" and cmd.get("level") == 2
        if good:
            send("ack", {"id": cmd["id"], "ok": True})
        else:
            send("ack", {"id": cmd["id"], "ok": False, "error": "unexpected " + line})
    elif msg["k"] == "hub":
        info(hub=msg["p"])
        if not started:
            started = True
            first_words()
