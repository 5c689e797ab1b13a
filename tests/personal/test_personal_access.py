"""Who may use the personal page: a person's link sees its own desk only, whatever it asks.

Real: the status page's HTTP server with its gate (accounts, signed desk
links, cookie sessions, CSRF tokens) over loopback, spoken to with
http.client. Stood in: the hub (a StaticSource with two desks and a pause).
"""

from __future__ import annotations

import http.client
import json

import pytest

from hub.web import DeskView, StaticSource, StatusServer
from hub.web.auth import LinkSigner, hash_secret
from hub.web.gate import Account, Gate
from hub.web.guard import allowed_hosts


class PausingSource(StaticSource):
    def __init__(self, desks):
        super().__init__(desks)
        self.paused: list[str] = []

    def pause(self, desk: str) -> None:
        self.paused.append(desk)
        self.update(desk, state="paused")


def _ask(port, method, path, cookie=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    sent = {"Host": f"127.0.0.1:{port}", **(headers or {})}
    if cookie:
        sent["Cookie"] = cookie
    conn.request(method, path, headers=sent)
    reply = conn.getresponse()
    body = reply.read()
    conn.close()
    return reply.status, reply.getheader("Set-Cookie"), body


@pytest.fixture
def server():
    signer = LinkSigner(b"k" * 32)
    accounts = {"ana": Account("ana", "admin", password_hash=hash_secret("correct horse 1"))}
    gate = Gate(accounts, hosts=allowed_hosts("127.0.0.1", []), links=signer)
    source = PausingSource([DeskView("p1", "seated", seated_s=60), DeskView("p2", "seated")])
    with StatusServer(source, poll_s=0.1, gate=gate) as page:
        yield page, signer, source


def test_a_link_sees_and_pauses_only_its_own_desk(server):
    page, signer, source = server
    status, _, _ = _ask(page.port, "GET", "/api/me?desk=p1")
    assert status == 401  # nobody signed in
    status, cookie, _ = _ask(page.port, "GET", f"/link?desk=p1&t={signer.token('p1')}")
    assert status == 303
    session = cookie.split(";", 1)[0]
    status, _, body = _ask(page.port, "GET", "/api/me?desk=p2", session)
    assert status == 200
    me = json.loads(body)
    assert me["desk"]["desk"] == "p1"  # the person's own desk, whatever the query says
    assert "p2" not in body.decode()
    status, _, html = _ask(page.port, "GET", "/me", session)
    assert status == 200
    assert b"/static/me.js" in html
    status, _, _ = _ask(page.port, "POST", "/api/me/pause", session)
    assert status == 403  # no CSRF token
    assert source.paused == []
    status, _, body = _ask(
        page.port, "POST", "/api/me/pause?desk=p2", session, {"X-CSRF-Token": me["csrf"]}
    )
    assert status == 200, body
    assert source.paused == ["p1"]
    status, _, body = _ask(
        page.port, "POST", "/api/me/snooze", session, {"X-CSRF-Token": me["csrf"]}
    )
    assert status == 409  # nothing is alerting
    assert json.loads(body)["error"]
