# The firmware's MQTT client against a real broker (argv: host port prefix
# silent_port),
# then against a silent server of our own that accepts and never answers.
# Prints "STEP <name>" after each check that passed.
import asyncio
import gc
import sys
import time

from sitless import link
from sitless.mqtt import MQTTClient, publish_packet

HOST, PORT, PREFIX, SILENT_PORT = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
received = []


def on_message(topic, message, retained):
    received.append((topic, bytes(message), retained))


async def wait_for(check, ms=10_000):
    start = time.ticks_ms()
    while not check():
        if time.ticks_diff(time.ticks_ms(), start) > ms:
            raise OSError("timed out")
        await asyncio.sleep_ms(20)


async def pump(client):
    """What the app's network task does for the client: let it read and keep the link alive."""
    while True:
        busy = client.step()
        if busy is None:
            await asyncio.sleep_ms(20)
        else:
            await busy


async def with_broker():
    will = (PREFIX + "/status", "offline", True, 1)
    client = MQTTClient("fw-test", HOST, PORT, keepalive=1, will=will, on_message=on_message)
    await link.handshake(client)
    asyncio.create_task(pump(client))
    await link.subscribe(client, PREFIX + "/echo", 1)
    await asyncio.sleep_ms(200)
    pid = await client.publish(PREFIX + "/echo", b"hello", False, 1)
    await wait_for(lambda: pid not in client.pending)  # its PUBACK came
    await wait_for(lambda: (PREFIX + "/echo", b"hello", False) in received)
    print("STEP qos1_round_trip")

    # Keepalive of 1 s: the broker would drop a client that stays silent for 1.5 s.
    await asyncio.sleep_ms(3500)
    assert client.connected, client.why_down
    print("STEP keepalive")

    # A QoS 1 message that was never acknowledged is resent after the next connect.
    client.pending[4242] = publish_packet(PREFIX + "/resent", b"again", 1, False, 4242)
    client.close("test: drop the link")  # no DISCONNECT: the broker sends the last will
    assert not client.connected
    await link.handshake(client)
    await wait_for(lambda: not client.pending)
    print("STEP resent")
    await link.disconnect(client)
    print("STEP disconnected")


async def silent_server():
    writers = []

    async def accept(reader, writer):
        await reader.read(256)  # the CONNECT
        writer.write(b"\x20\x02\x00\x00")
        await writer.drain()
        writers.append(writer)  # and then nothing, ever: a half-open link

    return await asyncio.start_server(accept, "127.0.0.1", SILENT_PORT)


async def with_silent_server():
    server = await silent_server()
    client = MQTTClient("fw-test-2", "127.0.0.1", SILENT_PORT, keepalive=1)
    await link.handshake(client)
    # Nothing comes and no ping is due yet: a look at the link allocates nothing.
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(100):
        assert client.step() is None
    allocated = gc.mem_alloc() - before
    gc.enable()
    assert allocated == 0, allocated
    print("STEP idle_look_allocates_nothing")
    asyncio.create_task(pump(client))
    await wait_for(lambda: not client.connected, 5000)
    assert "silent" in client.why_down, client.why_down
    print("STEP dead_link_closed")
    server.close()


asyncio.run(with_broker())
asyncio.run(with_silent_server())
