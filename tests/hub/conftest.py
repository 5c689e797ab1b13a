"""Fixtures shared by the hub tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.gate.wait(10)  # type: ignore[attr-defined]
        self.server.posts.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    """A loopback HTTP server recording JSON posts (Apprise's json:// target).

    ``gate`` is set by default; clear it to make the server hold every request.
    """
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    server.gate = threading.Event()  # type: ignore[attr-defined]
    server.gate.set()  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.gate.set()  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
