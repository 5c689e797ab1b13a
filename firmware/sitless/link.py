"""Bringing the link up: WiFi, the MQTT handshake, subscriptions, the board's announcement, NTP.

This runs once per connection attempt (and for the six-hourly NTP refresh),
never while the link is simply up, so the app loads it for that moment and
drops it after: its code takes no RAM between attempts. The running
connection (publishing, acks, reading, pings) stays in `sitless.mqtt`. It
uses the `network` that `board` imported; `board` stays the one module that
touches the hardware.
"""

import asyncio
import gc
import json
import time

from sitless import payload
from sitless.board import network
from sitless.compat import const
from sitless.mqtt import packet, text

_RESPONSE_MS = const(10_000)
_WIFI_TIMEOUT_MS = const(20_000)
# mbedtls: the broker's certificate chain does not lead to the trusted CA, or it does not
# name the host the chair connects to.
_VERIFY_FAILED = const(-0x2700)

DISCONNECT = b"\xe0\x00"


def connect_packet(client_id, keepalive, clean=True, will=None, user=None, password=None):
    """CONNECT; `will` is (topic, message, retain, qos)."""
    flags = 0x02 if clean else 0
    body = text(client_id)
    if will:
        topic, message, retain, qos = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        body += text(topic) + text(message)
    if user is not None:
        flags |= 0x80
        body += text(user)
        if password is not None:
            flags |= 0x40
            body += text(password)
    head = b"\x00\x04MQTT\x04" + bytes([flags]) + keepalive.to_bytes(2, "big")
    return packet(0x10, head + body)


def subscribe_packet(pid, topic, qos=1):
    return packet(0x82, pid.to_bytes(2, "big") + text(topic) + bytes([qos]))


def close_socket(sock):
    try:
        sock.close()
    except Exception:  # noqa: BLE001, S110 - closing a dead socket may fail; it is gone either way
        pass


def open_socket(host, port):
    """A non-blocking TCP socket, its connect begun (asyncio waits for it to finish)."""
    import errno
    import socket

    addr = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    sock = socket.socket(addr[0], addr[1], addr[2])
    sock.setblocking(False)
    try:
        sock.connect(addr[-1])
    except OSError as exc:
        if exc.errno != errno.EINPROGRESS:
            sock.close()
            raise
    return sock


def tls_context(ca_path):
    """A TLS client context that trusts only the CA certificates in the file `ca_path`.

    The file is PEM (one certificate or several) or one DER certificate. PEM
    is turned into DER here, as not every build of MicroPython's mbedtls
    parses PEM. The file is read at every attempt, so a CA put on the board
    later is used without a reboot; a missing or unusable one is named.
    """
    import binascii
    import ssl

    try:
        with open(ca_path, "rb") as f:
            data = f.read()
        blocks = [data]
        if b"-----BEGIN" in data:
            blocks = [
                binascii.a2b_base64(block.split(b"-----END")[0])
                for block in data.split(b"-----BEGIN CERTIFICATE-----")[1:]
            ]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.verify_mode = ssl.CERT_REQUIRED
        for block in blocks:
            context.load_verify_locations(cadata=block)
        if not blocks:
            raise ValueError("no certificate")
    except (OSError, ValueError):
        raise OSError("TLS: no usable CA certificate in %s" % ca_path) from None
    return context


async def handshake(client, ca_path=None):
    """Open the socket, CONNECT, wait for CONNACK and resend what was never acknowledged.

    The socket is the client's own; asyncio's public stream wraps it for the
    waits (the CONNECT is sent once the connect has finished, the CONNACK read).
    With `ca_path` the link is TLS: the broker must show a certificate for
    `client.host` signed by the CA in that file (the TLS handshake runs in
    the same waits, before the CONNECT goes out).
    """
    client.close("reconnecting")
    context = None if ca_path is None else tls_context(ca_path)
    sock = None
    try:
        sock = open_socket(client.host, client.port)
        if context is not None:
            sock = context.wrap_socket(
                sock, server_hostname=client.host, do_handshake_on_connect=False
            )
        # MicroPython's StreamReader is its one Stream class, which writes too (the stubs
        # give it CPython's read-only one): hence the two ignores below.
        stream = asyncio.StreamReader(sock)
        stream.write(  # pyright: ignore[reportAttributeAccessIssue]
            connect_packet(
                client.client_id, client.keepalive, True, client.will, client.user, client.password
            )
        )
        await asyncio.wait_for_ms(stream.drain(), _RESPONSE_MS)  # pyright: ignore[reportAttributeAccessIssue]
        ack = await asyncio.wait_for_ms(stream.readexactly(4), _RESPONSE_MS)
    except Exception as exc:  # noqa: BLE001 - every failure is "broker unreachable"
        if sock is not None:
            close_socket(sock)
        # mbedtls says so with its verify flags' text (a ValueError) or its error code.
        if context is not None and (
            isinstance(exc, ValueError) or (exc.args and exc.args[0] == _VERIFY_FAILED)
        ):
            why = str(exc).strip() if isinstance(exc, ValueError) else "verify failed"
            raise OSError(
                "TLS: the broker's certificate for %s does not verify against the CA in %s "
                "(%s); not connecting" % (client.host, ca_path, why)
            ) from None
        raise OSError("connect failed: %r" % (exc,)) from None
    if ack[0] != 0x20 or ack[3] != 0:
        close_socket(sock)
        raise OSError("broker refused the connection (code %d)" % ack[3])
    # Done: the client's `step` reads the socket from now on (`stream` wraps it for the waits).
    # Set here, not by a method of the client's: this code is loaded only for the handshake.
    client._stream = stream  # noqa: SLF001
    client._sock = sock  # noqa: SLF001
    client.received.clear()  # QoS 2 ids of the last session: the broker forgot them too
    client.connected = True
    client._last_rx = client._last_tx = time.ticks_ms()  # noqa: SLF001
    # Oldest first, by the order the ids were handed out in (they wrap at 65535).
    for pid in sorted(client.pending, key=client.age, reverse=True):
        message = client.pending[pid]
        await client.send(bytes((message[0] | 0x08,)) + message[1:])  # DUP: sent before


async def disconnect(client):
    """A clean goodbye: DISCONNECT, so the broker drops the last will."""
    try:
        await client.send(DISCONNECT)
    except OSError:
        pass
    client.close("disconnected")


async def subscribe(client, topic, qos=1):
    """Ask for a topic; the SUBACK is not awaited (a refusal would only show as silence)."""
    client.pid = pid = client.pid % 65535 + 1
    await client.send(subscribe_packet(pid, topic, qos))


async def wifi(board):
    """Connect (or confirm) WiFi without blocking the loop; False after a timeout."""
    if board.wlan is None:
        board.wlan = network.WLAN(network.STA_IF)
        board.wlan.active(True)
    wlan = board.wlan
    if wlan.isconnected():
        return True
    try:
        wlan.connect(board.cfg["wifi_ssid"], board.cfg["wifi_password"] or "")
    except OSError as exc:
        print("wifi: connect failed:", exc)
        return False
    start = time.ticks_ms()
    while time.ticks_diff(time.ticks_ms(), start) < _WIFI_TIMEOUT_MS:
        if wlan.isconnected():
            return True
        await asyncio.sleep_ms(250)
    wlan.disconnect()
    return False


async def up(app):
    """One attempt: WiFi, CONNECT, subscriptions, status and info, then NTP if never synced.

    True once the link is up; any failure is printed and gives False (try again later).
    """
    client = app.client
    if not await wifi(app.board):
        return False
    try:
        await handshake(client, app.cfg["mqtt_ca"] if app.cfg["mqtt_tls"] else None)
        await subscribe(client, app.cfg["prefix"] + "/_hub/status", 1)
        await subscribe(client, app.base + "cmd", 1)
        await client.publish(app.base + "status", "online", True, 1, False)
        await client.publish(app.base + "info", info(app), True, 1, False)
    except Exception as exc:  # noqa: BLE001 - any failure means: try again later
        client.close("failed: %r" % (exc,))
        print("mqtt:", exc)
        return False
    if not app.board.clock_synced:
        sync_time(app.board)
    print("mqtt: connected to %s:%d" % (client.host, client.port))
    return True


def sync_time(board):
    """Set the clock from NTP; ntptime blocks for at most about a second."""
    try:
        import ntptime

        ntptime.settime()
    except (OSError, ImportError, OverflowError) as exc:
        print("ntp: not synced:", exc)
        return False
    board.clock_synced = True
    return True


def mac():
    raw = network.WLAN(network.STA_IF).config("mac")
    return ":".join("%02x" % b for b in raw)


def info(app):
    """The `info` payload: who this board is."""
    return info_payload(
        app.board.name, app.cfg["sensor"], mac(), app.chair.boot, gc.mem_free(), app.cfg["desk"]
    )


def info_payload(board, sensor, mac, boot, heap_free, desk, config_version=1):
    # `desk` lets a serial bridge learn which desk it speaks for.
    dumps = json.dumps
    return (
        '{"fw":%s,"board":%s,"sensor":%s,"mac":%s,"boot":%s,"heap_free":%d,'
        '"config_version":%d,"desk":%s}'
        % (
            dumps(payload.FW_VERSION),
            dumps(board),
            dumps(sensor),
            dumps(mac),
            dumps(boot),
            heap_free,
            config_version,
            dumps(desk),
        )
    ).encode()
