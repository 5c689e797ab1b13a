"""The setup network's DNS: every name is the board, so a phone finds the setup page by itself.

A phone that joins the chair's access point looks up its usual check address
(connectivitycheck.gstatic.com, captive.apple.com...), gets the board's
address, fetches the check page from the setup server and, since that answers
with the form instead of the expected reply, opens it as a sign-in page.
Loaded only in setup mode, with `sitless.setup`.
"""

import asyncio
import socket

from sitless.compat import const

_MAX_QUERY = const(512)
_POLL_MS = const(50)
_TTL = b"\x00\x00\x00\x3c"  # 60 s: short, as the names point here only while setup runs


def answer(query, address):
    """The reply to one DNS query (bytes), or None for a packet not worth answering.

    An A (or ANY) question gets `address` (4 bytes); any other type an empty
    answer, so the phone does not wait on a name it cannot use.
    """
    if len(query) < 17 or query[2] & 0xF8 or query[4:6] != b"\x00\x01":
        return None  # a reply, another opcode, or not one question
    i = 12
    while query[i]:  # the labels of the name, each at most 63 bytes
        if query[i] > 63:
            return None
        i += query[i] + 1
        if i >= len(query):
            return None
    end = i + 5
    if end > len(query):
        return None
    qtype = query[i + 1 : i + 3]
    flags = bytes((0x84 | (query[2] & 0x01), 0x80))  # a reply, authoritative; RD copied, RA
    question = query[12:end]
    if qtype in (b"\x00\x01", b"\x00\xff"):
        record = b"\xc0\x0c\x00\x01\x00\x01" + _TTL + b"\x00\x04" + address
        return query[:2] + flags + b"\x00\x01\x00\x01\x00\x00\x00\x00" + question + record
    return query[:2] + flags + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question


def bind(host, port):
    """The DNS socket, bound and non-blocking, so queries are taken from the moment it exists."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(socket.getaddrinfo(host, port)[0][-1])
    sock.setblocking(False)
    return sock


async def serve(sock, address):
    """Answer every query on `sock` with `address` ("192.168.4.1") until cancelled."""
    ip = bytes([int(part) for part in address.split(".")])
    try:
        while True:
            try:
                query, peer = sock.recvfrom(_MAX_QUERY)
            except OSError:  # nothing waiting
                await asyncio.sleep_ms(_POLL_MS)
                continue
            reply = answer(query, ip)
            if reply is not None:
                try:
                    sock.sendto(reply, peer)
                except OSError:
                    pass  # the phone left; the next query is what matters
            await asyncio.sleep_ms(0)  # a burst of queries never holds the loop
    finally:
        sock.close()
