"""The live page sends what changed, not every desk: quiet desks cost nothing per viewer.

Real: mosquitto, the hub service and its MQTT transport, the status page's
HTTP server and event stream, read on a raw socket as a browser would.
Stood in: the chairs, by a real MQTT client publishing what firmware does.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest
from hubrig import Chair, hub_config

from hub.core.service import HubService
from hub.web.server import StatusServer
from hub.web.status import ServiceSource
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

DESKS = ("alpha", "bravo", "charlie")


class Stream:
    """One ``/events`` stream, its events parsed as they arrive."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=0.2)
        self.sock.sendall(f"GET /events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        self.buf = b""

    def events(self, seconds: float) -> list[tuple[str, Any]]:
        """Every event that arrives within ``seconds`` (comments such as keepalives left out)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                chunk = self.sock.recv(1 << 16)
            except TimeoutError:
                continue
            if not chunk:
                break
            self.buf += chunk
        out = []
        *blocks, self.buf = self.buf.split(b"\n\n")
        for block in blocks:
            fields = dict(
                line.split(": ", 1) for line in block.decode().splitlines() if ": " in line
            )
            if "event" in fields:
                out.append((fields["event"], json.loads(fields["data"])))
        return out

    def close(self) -> None:
        self.sock.close()


def test_quiet_desks_send_nothing_and_a_change_sends_only_its_desk(
    mosquitto, probe, prefix, tmp_path
):
    cfg = hub_config(mosquitto.url, prefix, tmp_path, sitting={"limit": 600})
    service = HubService(cfg)
    service.start()
    server = StatusServer(ServiceSource(service), poll_s=0.1).start()
    stream = None
    try:
        wait_until(lambda: service.connected, 10, "the hub to connect")
        chairs = {d: Chair(probe, prefix, d) for d in DESKS}
        for chair in chairs.values():
            chair.occupancy(True)
        wait_until(
            lambda: (
                {d["desk"] for d in server.broadcaster.latest().desks.values()} == set(DESKS)
                and all(d["state"] == "seated" for d in server.broadcaster.latest().desks.values())
            ),
            10,
            "every desk seated on the page",
        )
        stream = Stream(server.port)
        first = stream.events(0.5)
        assert first[0][0] == "snapshot"
        assert {d["desk"] for d in first[0][1]["desks"]} == set(DESKS)
        version = server.broadcaster.latest().version
        # Seated desks' clocks run, yet nothing they show changes: no frame, no bytes.
        assert [name for name, _ in stream.events(1.5)] == []
        assert server.broadcaster.latest().version == version
        snapshot = server.broadcaster.latest().desks
        assert snapshot["alpha"]["ticking"] is True

        chairs["bravo"].occupancy(False)
        changes = []
        deadline = time.monotonic() + 10
        while not changes and time.monotonic() < deadline:
            changes = [body for name, body in stream.events(0.3) if name == "desks"]
        assert [[d["desk"] for d in body["desks"]] for body in changes] == [["bravo"]]
        assert changes[0]["desks"][0]["state"] == "vacant"
        assert changes[0]["gone"] == []
    finally:
        if stream is not None:
            stream.close()
        server.stop()
        service.stop()


def test_a_late_first_load_shows_the_running_clock_of_now(mosquitto, probe, prefix, tmp_path):
    """A frame keeps each desk as it last changed; a snapshot moves its clock on to now."""
    cfg = hub_config(mosquitto.url, prefix, tmp_path, sitting={"limit": 600})
    service = HubService(cfg)
    service.start()
    server = StatusServer(ServiceSource(service), poll_s=0.1).start()
    try:
        wait_until(lambda: service.connected, 10, "the hub to connect")
        Chair(probe, prefix, "delta").occupancy(True, ts=time.time() - 30)
        wait_until(lambda: "delta" in server.broadcaster.latest().desks, 10, "the desk")
        time.sleep(1.5)
        stream = Stream(server.port)
        try:
            (name, body), *_ = stream.events(0.5)
        finally:
            stream.close()
        assert name == "snapshot"
        (desk,) = body["desks"]
        assert desk["seated_s"] >= 31.0
    finally:
        server.stop()
        service.stop()


def test_viewers_who_see_every_desk_share_one_encoding_of_a_change(
    mosquitto, probe, prefix, tmp_path
):
    """Three open-page viewers get the very same event for a change: it was encoded once.

    Each event carries the time it was made (``ts``); viewers encoding their
    own copies would each show their own moment.
    """
    cfg = hub_config(mosquitto.url, prefix, tmp_path, sitting={"limit": 600})
    service = HubService(cfg)
    service.start()
    server = StatusServer(ServiceSource(service), poll_s=0.1).start()
    streams: list[Stream] = []
    try:
        wait_until(lambda: service.connected, 10, "the hub to connect")
        chair = Chair(probe, prefix, "alpha")
        chair.occupancy(True)
        wait_until(lambda: "alpha" in server.broadcaster.latest().desks, 10, "alpha on the page")
        streams = [Stream(server.port) for _ in range(3)]
        for stream in streams:
            assert stream.events(0.5)[0][0] == "snapshot"
        chair.occupancy(False)
        seen: list[list[Any]] = [[] for _ in streams]
        deadline = time.monotonic() + 30
        while not all(seen) and time.monotonic() < deadline:
            for got, stream in zip(seen, streams, strict=True):
                got.extend(body for name, body in stream.events(0.2) if name == "desks")
        assert all(seen), "every viewer got the change"
        assert seen[0][0]["desks"][0]["state"] == "vacant"
        assert seen[1][0] == seen[0][0]
        assert seen[2][0] == seen[0][0]
    finally:
        for stream in streams:
            stream.close()
        server.stop()
        service.stop()
