# ruff: noqa: UP031 - MicroPython code: %-formatting is its idiom
# The firmware's MQTT client given messages at QoS 2, under MicroPython.
#   broker HOST PORT PREFIX: subscribes PREFIX/q2 at QoS 2 on a real broker, prints READY,
#     then hands on what comes for 20 s at most: GOT <payload> for each, then DONE when
#     three came and every exchange ended (no PUBREL left unanswered), the link still up.
#   scripted PORT: a server of this script's own speaks the broker's half byte for byte
#     (a QoS 2 PUBLISH, the same again with DUP, PUBREL, the id used again for a new
#     message, one over the packet cap) and checks each answer; prints STEP lines.
import asyncio
import sys
import time

from sitless import link
from sitless.mqtt import MQTTClient, packet

received = []


def on_message(topic, message, retained):
    received.append(bytes(message))
    print("GOT %s" % bytes(message).decode())


async def pump(client, until, ms):
    """What the app's network task does for the client, until `until()` or `ms` ran out."""
    start = time.ticks_ms()
    while not until() and time.ticks_diff(time.ticks_ms(), start) < ms:
        busy = client.step()
        if busy is None:
            await asyncio.sleep_ms(10)
        else:
            await busy


async def with_broker(host, port, prefix):
    client = MQTTClient("fw-qos2", host, port, keepalive=5, on_message=on_message)
    await link.handshake(client)
    await link.subscribe(client, prefix + "/q2", 2)
    await pump(client, lambda: False, 300)  # the SUBACK
    print("READY")
    await pump(client, lambda: len(received) >= 3, 20_000)
    await pump(client, lambda: not client.received, 2000)  # the last PUBREL answered
    assert client.connected, client.why_down
    assert not client.received, client.received
    print("DONE")
    await link.disconnect(client)


def publish2(pid, payload, dup=False):
    topic = b"t/q2"
    first = 0x34 | (0x08 if dup else 0)
    return packet(first, len(topic).to_bytes(2, "big") + topic + pid.to_bytes(2, "big") + payload)


async def scripted(port):
    answers = []
    done = asyncio.Event()

    async def accept(reader, writer):
        await reader.read(256)  # the CONNECT
        writer.write(b"\x20\x02\x00\x00")

        async def answer():
            answers.append(await reader.readexactly(4))

        # A QoS 2 message: PUBREC. Sent again (DUP) before PUBREL: PUBREC again, handed on once.
        writer.write(publish2(7, b"one"))
        await writer.drain()
        await answer()
        writer.write(publish2(7, b"one", True))
        await writer.drain()
        await answer()
        writer.write(b"\x62\x02\x00\x07")  # PUBREL
        await writer.drain()
        await answer()
        # The exchange ended: the same id is a new message now.
        writer.write(publish2(7, b"two"))
        await writer.drain()
        await answer()
        writer.write(b"\x62\x02\x00\x07")
        await writer.drain()
        await answer()
        # Over the 8 KB cap: read past, not handed on, but answered so the broker lets it go.
        writer.write(publish2(9, b"x" * 9000))
        await writer.drain()
        await answer()
        writer.write(b"\x62\x02\x00\x09")
        await writer.drain()
        await answer()
        done.set()
        await asyncio.sleep_ms(500)
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", port)
    client = MQTTClient("fw-qos2-s", "127.0.0.1", port, keepalive=30, on_message=on_message)
    await link.handshake(client)
    await pump(client, done.is_set, 10_000)
    assert done.is_set(), answers
    rec, comp = b"\x50\x02\x00", b"\x70\x02\x00"
    assert answers[:5] == [rec + b"\x07", rec + b"\x07", comp + b"\x07", rec + b"\x07",
                           comp + b"\x07"], answers
    print("STEP exactly_once")
    assert received == [b"one", b"two"], received
    assert answers[5:] == [rec + b"\x09", comp + b"\x09"], answers
    assert client.connected, client.why_down
    assert not client.received, client.received
    print("STEP over_the_cap_answered")
    client.close("test over")
    server.close()


if sys.argv[1] == "broker":
    asyncio.run(with_broker(sys.argv[2], int(sys.argv[3]), sys.argv[4]))
else:
    asyncio.run(scripted(int(sys.argv[2])))
