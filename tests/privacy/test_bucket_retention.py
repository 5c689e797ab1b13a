"""`sitless history init` sets InfluxDB 2.x bucket retention through the v2 API.

Real: the `sitless history init` command in its own process, its HTTP calls
(urllib3) and their JSON bodies. Stood in: the InfluxDB 2.x server, which
Debian does not package (the suite's influxd is 1.x): a small HTTP server on
loopback answers the four calls the command makes (GET /api/v2/orgs, GET, POST
and PATCH /api/v2/buckets) as the v2 API reference describes them, checks the
token and keeps the buckets, so the test sees what a real server would be
asked to store. That the server then expires points is InfluxDB's own job,
tested for 1.x in test_retention.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import config
from hub.history.buckets import plan
from tests.support.hubproc import ROOT

TOKEN = "operator-token-for-the-test"  # noqa: S105 - the stand-in's own token
ORG_ID = "0a1b2c3d4e5f6071"


class FakeV2:
    """State of the stand-in server: its buckets and every request it was sent."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[str, Any]] = {
            "sitless": {
                "id": "b0000000000000001",
                "orgID": ORG_ID,
                "name": "sitless",
                "retentionRules": [],  # what the stack's setup leaves without a retention
            }
        }
        self.calls: list[tuple[str, str, Any]] = []


def make_handler(state: FakeV2) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - a branch per call
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            return

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            state.calls.append((self.command, parts.path, body))
            if self.headers.get("Authorization") != f"Token {TOKEN}":
                self._answer(401, {"code": "unauthorized", "message": "unauthorized access"})
                return
            if (self.command, parts.path) == ("GET", "/api/v2/orgs"):
                orgs = [{"id": ORG_ID, "name": "acme"}] if query.get("org") == "acme" else []
                self._answer(200, {"orgs": orgs})
            elif (self.command, parts.path) == ("GET", "/api/v2/buckets"):
                found = [
                    b
                    for b in state.buckets.values()
                    if b["orgID"] == query.get("orgID") and b["name"] == query.get("name")
                ]
                self._answer(200, {"buckets": found})
            elif (self.command, parts.path) == ("POST", "/api/v2/buckets"):
                new = {"id": f"b{len(state.buckets) + 1:016d}", **body}
                state.buckets[new["name"]] = new
                self._answer(201, new)
            elif self.command == "PATCH" and parts.path.startswith("/api/v2/buckets/"):
                wanted = parts.path.rsplit("/", 1)[1]
                for bucket in state.buckets.values():
                    if bucket["id"] == wanted:
                        bucket.update(body)
                        self._answer(200, bucket)
                        return
                self._answer(404, {"code": "not found", "message": "bucket not found"})
            else:
                self._answer(404, {"code": "not found", "message": "path not found"})

        do_GET = _handle  # noqa: N815 - the names http.server calls
        do_POST = _handle  # noqa: N815
        do_PATCH = _handle  # noqa: N815

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[str, FakeV2]]:
    state = FakeV2()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(state))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def write_config(tmp_path: Path, url: str, *, token: str = TOKEN, desk: str = "30d") -> Path:
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    path = tmp_path / "hub.toml"
    path.write_text(
        textwrap.dedent(
            f"""
            state_dir = "{tmp_path / "state"}"
            [history]
            api = "v2"
            url = "{url}"
            org = "acme"
            bucket = "sitless"
            personal_bucket = "sitless-personal"
            token_file = "{token_file}"
            privacy = "aggregate"
            desk_retention = "{desk}"
            """
        )
    )
    return path


def init(cfg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hub", "history", "init", "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def expiry(state: FakeV2, name: str) -> list[dict[str, Any]]:
    return state.buckets[name]["retentionRules"]


def test_init_creates_the_personal_bucket_and_sets_both_retentions(tmp_path, server):
    """Aggregate: the main bucket keeps zones 2 years, the personal one desks 30 days; a second
    run changes nothing; a changed desk retention is patched onto the existing bucket."""
    url, state = server
    first = init(write_config(tmp_path, url))
    assert first.returncode == 0, first.stderr
    assert expiry(state, "sitless") == [{"type": "expire", "everySeconds": 730 * 86400}]
    assert expiry(state, "sitless-personal") == [{"type": "expire", "everySeconds": 30 * 86400}]
    assert state.buckets["sitless-personal"]["orgID"] == ORG_ID
    assert first.stdout.splitlines() == [
        "sitless: 730d (changed)",
        "sitless-personal: 30d (created)",
    ]

    state.calls.clear()
    again = init(write_config(tmp_path, url))
    assert again.returncode == 0, again.stderr
    assert "already 30d" in again.stdout
    assert [c[0] for c in state.calls] == ["GET", "GET", "GET"]  # nothing written

    changed = init(write_config(tmp_path, url, desk="7d"))
    assert changed.returncode == 0, changed.stderr
    assert "sitless-personal: 7d (changed)" in changed.stdout
    assert expiry(state, "sitless-personal") == [{"type": "expire", "everySeconds": 7 * 86400}]
    assert len(state.buckets) == 2


def test_a_refused_token_is_one_line_without_the_token(tmp_path, server):
    """The server's 401 becomes exit 1 and its reason; neither the token nor a traceback shows."""
    url, state = server
    wrong = "not-the-operator-token"
    out = init(write_config(tmp_path, url, token=wrong))
    assert out.returncode == 1
    assert "unauthorized access (HTTP 401)" in out.stderr
    assert wrong not in out.stderr + out.stdout
    assert "Traceback" not in out.stderr
    assert expiry(state, "sitless") == []


def test_desk_mode_plans_one_bucket_for_30_days():
    """Under "desk" the main bucket holds desk-level data, so it gets the desk retention."""
    cfg = config.from_mapping(
        {
            "history": {
                "api": "v2",
                "url": "http://127.0.0.1:8086",
                "org": "acme",
                "bucket": "sitless",
                "personal_bucket": "unused",
            }
        }
    )
    assert [(p.bucket, p.seconds) for p in plan(cfg.history)] == [("sitless", 30 * 86400)]
