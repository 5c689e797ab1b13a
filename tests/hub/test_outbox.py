"""The outbox's hand-over: the owner thread waits until the network thread took what it queued.

Real: hub.mqtt.outbox.Outbox and its lock, threads. Stood in: the network
thread, by a thread of the test calling ``take`` as the real one does.
"""

from __future__ import annotations

import threading

from hub.mqtt import packets as mp
from hub.mqtt.outbox import MAX_INFLIGHT, Outbox
from hub.mqtt.refusals import Refusals


def ready_outbox() -> Outbox:
    outbox = Outbox(Refusals(), v5=True)
    outbox.begin()
    outbox.resume(session_present=False, receive_maximum=65535, max_packet=None)
    return outbox


def waiter(outbox: Outbox) -> threading.Thread:
    thread = threading.Thread(target=outbox.wait_taken, args=(30.0,), daemon=True)
    thread.start()
    return thread


def test_a_rush_of_commands_is_written_at_once_and_the_waiter_freed_when_taken():
    outbox = ready_outbox()
    try:
        outbox.wait_taken(30.0)  # nothing queued: returns at once
        messages = [(f"p/desk{i}/cmd", b'{"id":"h-1"}', False) for i in range(1000)]
        outbox.publish_many(messages)
        thread = waiter(outbox)
        thread.join(0.2)
        assert thread.is_alive()  # the bytes are not taken yet
        out = outbox.take()
        thread.join(10.0)
        assert not thread.is_alive()
        # All of them in flight at once (no round trips), in order, with ids 1 to 1000.
        assert out is not None
        assert out.count(b'{"id":"h-1"}') == 1000
        first = mp.publish("p/desk0/cmd", b'{"id":"h-1"}', mid=1, v5=True)
        assert out.startswith(first)
        assert MAX_INFLIGHT >= 10_000
    finally:
        outbox.close()


def test_the_waiter_is_freed_when_the_link_ends():
    outbox = ready_outbox()
    try:
        outbox.publish_many([("p/desk/cmd", b"{}", False)])
        thread = waiter(outbox)
        thread.join(0.2)
        assert thread.is_alive()
        outbox.end()
        thread.join(10.0)
        assert not thread.is_alive()
    finally:
        outbox.close()
