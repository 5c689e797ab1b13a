# A stand-in board built on the firmware's own serial link module (sitless.serial_link),
# run by the MicroPython unix port: it answers a hub line with its info and status,
# and acks every command, so the host's codec is checked against the firmware's.
import asyncio
import json

from sitless import serial_link


def handle(kind, payload):
    if kind == "hub":
        info = {
            "fw": "0.1.0",
            "board": "unix-standin",
            "sensor": "switch",
            "mac": "02:00",
            "boot": "fwlink",
            "desk": "desk-5",
        }
        serial_link.send("info", json.dumps(info).encode())
        serial_link.send("status", "online")
    elif kind == "cmd":
        serial_link.send("ack", json.dumps({"id": payload["id"], "ok": True}).encode())


asyncio.run(serial_link.listen(handle))
