"""``POST /api/desks/D/tare`` follows the page's access rules: admins only, with the CSRF token.

Real: the status page's HTTP server with its gate (accounts, signed desk links,
cookie sessions, CSRF tokens) over loopback. Stood in: the hub, by a
StaticSource whose ``tare`` answers as the service does (done, or the chair's
refusal); the real service and chair are in tests/firmware/test_tare_from_hub.py.
"""

from __future__ import annotations

import pytest

from hub.web import DeskView, StaticSource, StatusServer
from hub.web.auth import LinkSigner, hash_secret
from hub.web.gate import Account, Gate
from hub.web.guard import allowed_hosts
from hub.web.tare import TareAnswer
from tests.privacy.client import PageClient


class TaringSource(StaticSource):
    """Answers a tare as a chair would: refused while its desk is seated."""

    def __init__(self, desks: list[DeskView]) -> None:
        super().__init__(desks)
        self.tared: list[str] = []

    def tare(self, desk: str) -> TareAnswer:
        self.tared.append(desk)
        view = next(d for d in self.snapshot() if d.desk == desk)
        if view.state == "seated":
            return TareAnswer(desk, "h1-1", False, "seat is taken; tare only while vacant")
        return TareAnswer(desk, "h1-2", True)


@pytest.fixture
def page():
    signer = LinkSigner(b"k" * 32)
    accounts = {
        "ana": Account("ana", "admin", password_hash=hash_secret("correct horse 1")),
        "fay": Account("fay", "facilities", password_hash=hash_secret("correct horse 2")),
    }
    gate = Gate(accounts, hosts=allowed_hosts("127.0.0.1", []), links=signer)
    source = TaringSource([DeskView("p1", "vacant"), DeskView("p2", "seated")])
    with StatusServer(source, poll_s=0.1, gate=gate) as server:
        yield server, signer, source


def test_only_an_admin_with_the_csrf_token_may_tare(page):
    server, signer, source = page
    nobody = PageClient(server.port)
    assert nobody.post("/api/desks/p1/tare").status == 401

    person = PageClient(server.port)
    assert person.get(f"/link?desk=p1&t={signer.token('p1')}").status == 303
    person.csrf = person.get("/api/session").json()["csrf"]
    refused = person.post("/api/desks/p1/tare")  # their own desk, with the token: still no
    assert refused.status == 403
    assert refused.json()["error"] == "only an admin may tare a chair"

    fay = PageClient(server.port)
    assert fay.login("fay", "correct horse 2").status == 200
    assert fay.post("/api/desks/p1/tare").status == 403

    ana = PageClient(server.port)
    assert ana.login("ana", "correct horse 1").status == 200
    assert ana.post("/api/desks/p1/tare", csrf=False).status == 403  # no CSRF token
    assert source.tared == []

    done = ana.post("/api/desks/p1/tare")
    assert done.status == 200
    assert done.json() == {"desk": "p1", "id": "h1-2", "ok": True}
    seated = ana.post("/api/desks/p2/tare")
    assert seated.status == 409
    assert seated.json()["error"] == "seat is taken; tare only while vacant"
    assert source.tared == ["p1", "p2"]


def test_without_accounts_a_tare_needs_the_page_header():
    source = TaringSource([DeskView("p1", "vacant")])
    with StatusServer(source, poll_s=0.1) as server:
        client = PageClient(server.port)
        assert client.post("/api/desks/p1/tare").status == 403  # no X-Sitless header
        ok = client.request("POST", "/api/desks/p1/tare", headers={"X-Sitless": "1"})
        assert ok.status == 200
        assert ok.json()["ok"] is True
    assert source.tared == ["p1"]
