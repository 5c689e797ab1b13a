"""The `SL ` line protocol of docs/serial.md on the USB console.

Board to host: `SL {"k": kind, "p": payload}` for every message the board
would publish, and `raw` readings while streaming. Host to board: `cmd`,
`hub` and `stream`. Other console text is left alone.
"""

import asyncio
import json
import sys

PREFIX = "SL "
HOST_KINDS = ("cmd", "hub", "stream")


def line(kind, body):
    """One board-to-host line; `body` is an encoded JSON payload (bytes) or, for status, text."""
    if kind == "status":
        return 'SL {"k":"status","p":%s}' % json.dumps(body)
    if isinstance(body, (bytes, bytearray)):
        body = body.decode()
    return 'SL {"k":%s,"p":%s}' % (json.dumps(kind), body)


def raw_line(raw, value):
    return 'SL {"k":"raw","p":{"raw":%d,"value":%d}}' % (raw, value)


def parse(text):
    """(kind, payload) for a host line, or None for free text and malformed lines."""
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode()
        except UnicodeError:
            return None
    text = text.strip()
    if not text.startswith(PREFIX):
        return None
    try:
        obj = json.loads(text[len(PREFIX) :])
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("k") not in HOST_KINDS or "p" not in obj:
        return None
    return obj["k"], obj["p"]


def send(kind, body):
    print(line(kind, body))


async def listen(handle, *args):
    """Read console lines forever and pass each host line to `handle(*args, kind, payload)`.

    (`args` spare the caller a bound method or a closure kept alive for as long as this runs.)
    """
    reader = asyncio.StreamReader(sys.stdin)
    while True:
        text = await reader.readline()
        if not text:
            return  # the console closed (only under a test harness)
        found = parse(text)
        if found is not None:
            handle(*args, found[0], found[1])
