"""The access half of the page's request handler: sign-in routes, role checks, zone views.

The server's handler mixes this in and asks ``gate_get``/``gate_post`` first;
they answer everything that depends on who is asking (sign-in, refusals,
the facilities' zone views) and leave the rest to the server, after setting
``viewer`` so the server can narrow desk lists to what the viewer may see.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any

from hub.web.auth import Principal, Session
from hub.web.gate import Gate, Refused, split_path
from hub.web.guard import Counters
from hub.web.views import Privacy, sees_desk, visible_desks

logger = logging.getLogger(__name__)

ZONES_KEEPALIVE_S = 15.0
_OPEN_PATHS = frozenset({"/healthz", "/metrics"})
_AGGREGATE_NOTE = (
    "Counts per zone; zones with fewer than {n} desks are pooled with their floor, "
    "site or all sites. No desk is shown."
)
_DESK_NOTE = "Counts per zone. No desk is shown."


def _page(name: str) -> bytes:
    return resources.files("hub").joinpath("static", name).read_bytes()


def web_metrics(counters: Counters) -> str:
    """The page's own counters in the Prometheus text format."""
    values = counters.snapshot()
    lines = [
        "# HELP sitless_web_auth_failures_total Refused status page requests, by reason.",
        "# TYPE sitless_web_auth_failures_total counter",
    ]
    for key in sorted(k for k in values if k.startswith("auth_failures.")):
        reason = key.removeprefix("auth_failures.")
        lines.append(f'sitless_web_auth_failures_total{{reason="{reason}"}} {int(values[key])}')
    lines += [
        "# HELP sitless_web_logins_total Status page sign-ins, by role.",
        "# TYPE sitless_web_logins_total counter",
    ]
    for key in sorted(k for k in values if k.startswith("logins.")):
        role = key.removeprefix("logins.")
        lines.append(f'sitless_web_logins_total{{role="{role}"}} {int(values[key])}')
    for key, text in (
        ("web_connections_refused", "Connections refused because the page was at its cap."),
        ("web_accept_failures", "Connections the page could not accept (out of descriptors)."),
    ):
        lines += [
            f"# HELP sitless_{key}_total {text}",
            f"# TYPE sitless_{key}_total counter",
            f"sitless_{key}_total {int(values.get(key, 0))}",
        ]
    return "\n".join(lines) + "\n"


class AccessMixin(BaseHTTPRequestHandler):
    """Sign-in, refusals and zone views, for the server's handler."""

    viewer: Principal | None = None
    session: Session | None = None

    @property
    def gate(self) -> Gate:
        """The server's gate."""
        gate: Gate = getattr(self.server, "app").gate  # noqa: B009 - typed by the server
        return gate

    @property
    def privacy(self) -> Privacy:
        """The server's privacy settings."""
        privacy: Privacy = getattr(self.server, "app").privacy  # noqa: B009 - typed by the server
        return privacy

    def address(self) -> str:
        """The peer's address, for the brake and the log (never a secret)."""
        return str(self.client_address[0])

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """One debug line per request, without the query: a desk link's token is in it."""
        path = split_path(self.path)[0][:200]
        logger.debug("http %s %s %s %s %s", self.address(), self.command, path, code, size)

    def log_error(self, format: str, *_args: Any) -> None:  # noqa: A002 - the base class's name
        """Malformed requests and timeouts, without the request line (it may hold a secret)."""
        logger.debug("http %s: %s", self.address(), format.split("%", 1)[0].strip(" :(") or "error")

    def reply(self, status: int, body: object, headers: Mapping[str, str] | None = None) -> None:
        """A JSON reply with extra headers."""
        data = json.dumps(body, separators=(",", ":")).encode()
        self._reply_bytes(status, data, "application/json", headers)

    def _reply_bytes(
        self, status: int, data: bytes, ctype: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def may_see(self, desks: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The desks this viewer may see by id."""
        return visible_desks(desks, self.viewer if self.gate.required else None)

    def sees(self, desk: str) -> bool:
        """Whether this viewer may see one desk by id (the rule of ``may_see``)."""
        return sees_desk(desk, self.viewer if self.gate.required else None)

    def may_pause(self) -> bool:
        """Whether this viewer may pause (admins, a person for their desk, anyone when open)."""
        return not self.gate.required or (
            self.viewer is not None and self.viewer.role in ("admin", "person")
        )

    def gate_get(self, path: str, query: str) -> bool:  # noqa: PLR0911 - one exit per route
        """Answer a GET that depends on who asks; False leaves it to the server."""
        gate, address = self.gate, self.address()
        try:
            gate.check_host(self.headers.get("Host"), address)
            if path == "/login":
                self._reply_bytes(HTTPStatus.OK, _page("login.html"), "text/html; charset=utf-8")
                return True
            if path == "/link":
                gate.link(self, query, address)
                return True
            self._identify()
            if path == "/api/session":
                self._session_info()
                return True
            if path.startswith("/static/") or (path in _OPEN_PATHS and gate.metrics_open):
                return False
            if not gate.required:
                return self._zones_route(path)
            if self.viewer is None:
                if path in ("/", "/index.html"):
                    self.reply(HTTPStatus.SEE_OTHER, {"error": "sign in"}, {"Location": "/login"})
                else:
                    self.reply(HTTPStatus.UNAUTHORIZED, {"error": "sign in first"})
                return True
            return self._by_role(path)
        except Refused as exc:
            self.reply(exc.status, {"error": exc.why}, exc.headers)
            return True

    def gate_post(self, path: str, desk: str | None) -> bool:
        """Answer a POST that depends on who asks; False leaves it to the server."""
        gate, address = self.gate, self.address()
        try:
            gate.check_host(self.headers.get("Host"), address)
            if path == "/login" and gate.required:
                gate.login(self, address)
                return True
            if path == "/logout":
                gate.logout(self)
                return True
            if not gate.required:
                return False
            self._identify()
            if self.viewer is None:
                self.reply(HTTPStatus.UNAUTHORIZED, {"error": "sign in first"})
                return True
            gate.check_csrf(self.headers, self.session, address)
            if desk is not None and not self.viewer.may_see_desk(desk):
                why = "this account may not change that desk"
                raise gate.fail("desk", address, HTTPStatus.FORBIDDEN, why)
        except Refused as exc:
            # The body was not read: close, so it is never taken for the next request.
            self.close_connection = True
            self.reply(exc.status, {"error": exc.why}, {**exc.headers, "Connection": "close"})
            return True
        return False

    def _identify(self) -> None:
        found = self.gate.session(self.headers, self.address()) if self.gate.required else None
        self.viewer, self.session = found or (None, None)

    def _session_info(self) -> None:
        gate = self.gate
        if not gate.required:
            self.reply(HTTPStatus.OK, {"role": "admin", "open": True, "notice": gate.notice})
        elif self.viewer is None:
            token, set_cookie = gate.login_token()
            body = {"error": "sign in", "login_csrf": token}
            self.reply(HTTPStatus.UNAUTHORIZED, body, {"Set-Cookie": set_cookie})
        else:
            who = self.viewer
            csrf = self.session.csrf if self.session else None
            info: dict[str, str | None] = {"user": who.name, "role": who.role}
            info |= {"desk": who.desk, "csrf": csrf}
            self.reply(HTTPStatus.OK, info)

    def _by_role(self, path: str) -> bool:
        who, address = self.viewer, self.address()
        if who is None:
            return False
        if who.role == "facilities":
            if path in ("/", "/index.html"):
                self._reply_bytes(HTTPStatus.OK, _page("zones.html"), "text/html; charset=utf-8")
                return True
            if path.startswith("/api/desks"):
                why = "facilities see zones, not desks"
                raise self.gate.fail("role", address, HTTPStatus.FORBIDDEN, why)
            return self._zones_route(path)
        if who.role == "person":
            if path in _OPEN_PATHS or path == "/api/zones":
                raise self.gate.fail("role", address, HTTPStatus.FORBIDDEN, "not for a person")
            desk = path.removeprefix("/api/desks/") if path.startswith("/api/desks/") else None
            if desk is not None and desk != who.desk:
                why = "this account may only see its own desk"
                raise self.gate.fail("desk", address, HTTPStatus.FORBIDDEN, why)
            return False
        return self._zones_route(path)

    def _zones_route(self, path: str) -> bool:
        facilities = self.viewer is not None and self.viewer.role == "facilities"
        if path == "/api/zones":
            self.reply(HTTPStatus.OK, self.zones_body())
            return True
        if path == "/events" and facilities:
            self._zones_stream()
            return True
        return False

    def zones_body(self) -> dict[str, Any]:
        """The zone counts of the newest frame, with the note that explains the pooling."""
        app = getattr(self.server, "app")  # noqa: B009 - typed by the server
        frame = app.broadcaster.latest()
        privacy = self.privacy
        note = _AGGREGATE_NOTE.format(n=privacy.min_group) if privacy.aggregate else _DESK_NOTE
        body: dict[str, Any] = {
            "ts": frame.ts,
            "title": app.title,
            "privacy": note,
            "zones": app.zones_of(frame),
        }
        if self.viewer is not None:
            body["user"] = self.viewer.name
            body["csrf"] = self.session.csrf if self.session else None
        return body

    def _zones_stream(self) -> None:
        app = getattr(self.server, "app")  # noqa: B009 - typed by the server
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        version, sent = -1, None
        try:
            while not app.broadcaster.stopping:
                frame = app.broadcaster.wait_newer(version, ZONES_KEEPALIVE_S)
                if frame.version != version:
                    version = frame.version
                    body = self.zones_body()
                    if body["zones"] != sent:
                        sent = body["zones"]
                        data = json.dumps(body, separators=(",", ":"))
                        self.wfile.write(f"event: zones\ndata: {data}\n\n".encode())
                        self.wfile.flush()
                        continue
                self.wfile.write(b": keepalive\n\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            logger.debug("a zones viewer went away")
