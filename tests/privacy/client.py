"""A small HTTP client for the status page with its own cookie jar, as one browser would have."""

from __future__ import annotations

import http.client
import json
import socket
import time
from http.cookies import SimpleCookie
from typing import Any


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


class PageClient:
    """Keeps the cookies a server sets, and sends them back, like a browser on one host."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(
        self,
        method: str,
        path: str,
        body: object | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        send = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            send["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            send["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=send)
            resp = conn.getresponse()
            raw = resp.read()
            got = {k.lower(): v for k, v in resp.getheaders()}
            for value in resp.headers.get_all("Set-Cookie") or []:
                jar = SimpleCookie()
                jar.load(value)
                for name, morsel in jar.items():
                    if morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return Reply(resp.status, got, raw)
        finally:
            conn.close()

    def get(self, path: str, **kw: Any) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: object | None = None, *, csrf: bool = True) -> Reply:
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        return self.request("POST", path, body=body, headers=headers)

    def login(self, user: str, password: str) -> Reply:
        first = self.get("/api/session")
        assert first.status == 401, first.text
        self.csrf = first.json()["login_csrf"]
        reply = self.post("/login", {"user": user, "password": password})
        if reply.status == 200:
            self.csrf = reply.json()["csrf"]
        return reply

    def events(self, seconds: float = 1.5) -> str:
        """The raw event stream for a while (the first frame and anything after)."""
        sock = socket.create_connection((self.host, self.port), timeout=seconds)
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        head = f"GET /events HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        if cookie:
            head += f"Cookie: {cookie}\r\n"
        sock.sendall((head + "\r\n").encode())
        data = b""
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
        finally:
            sock.close()
        return data.decode(errors="replace")
