"""The status page's HTTP server: the page, a live event stream, a JSON API, health and metrics.

The standard library's threading server is enough: a handful of viewers, one
thread each, and no framework to keep up to date. It binds to loopback unless
configured otherwise; the page shows desk states only, never secrets.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import Any, ClassVar, Self

from hub.errors import SitlessError
from hub.web import metrics, ops, personal, tare
from hub.web.broadcast import Broadcaster, Delta, Frame, as_of
from hub.web.gate import Gate, split_path
from hub.web.guard import Counters, GuardedServer, allowed_hosts, is_loopback
from hub.web.pages import AccessMixin, web_metrics
from hub.web.source import StatusSource
from hub.web.views import Privacy, zones

logger = logging.getLogger(__name__)

KEEPALIVE_S = 15.0
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_DESK_PATH = re.compile(r"^/api/desks/([a-z0-9][a-z0-9_-]{0,47})(/pause|/tare)?\Z")
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}


def _static(name: str) -> bytes | None:
    """A file shipped in ``hub/static``, or None; names are checked so no path can escape."""
    if not _STATIC_NAME.match(name) or ".." in name:
        return None
    item = resources.files("hub").joinpath("static", name)
    try:
        return item.read_bytes()
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None


class _Server(GuardedServer):
    app: StatusServer


class _Handler(AccessMixin, BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "sitless"
    sys_version = ""
    routes: ClassVar[dict[str, str]] = {
        "/": "_page",
        "/index.html": "_page",
        "/healthz": "_health",
        "/metrics": "_metrics",
        "/api/desks": "_desks",
        "/events": "_events",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - name fixed by the base class
        logger.debug("http %s %s", self.address_string(), format % args)

    def _send(
        self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, body: object) -> None:
        self._send(status, json.dumps(body, separators=(",", ":")).encode(), "application/json")

    def _error(self, status: HTTPStatus, why: str) -> None:
        self._json(status, {"error": why})

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path, query = split_path(self.path)
        if self.gate_get(path, query) or personal.handle_get(self, path, query):
            return
        method = self.routes.get(path)
        if method is not None:
            getattr(self, method)()
        elif path.startswith("/static/"):
            name = path.removeprefix("/static/")
            body = _static(name)
            if body is None:
                self._error(HTTPStatus.NOT_FOUND, f"no static file {name[:64]!r}")
            else:
                suffix = name[name.rfind(".") :]
                self._send(HTTPStatus.OK, body, _TYPES.get(suffix, "application/octet-stream"))
        elif (match := _DESK_PATH.match(path)) and not match.group(2):
            self._one_desk(match.group(1))
        else:
            self._error(HTTPStatus.NOT_FOUND, f"nothing at {path[:80]!r}")

    def do_POST(self) -> None:
        path, query = split_path(self.path)
        match = _DESK_PATH.match(path)
        if self.gate_post(path, match.group(1) if match else None):
            return
        if personal.handle_post(self, path, query):
            return
        if not match or not match.group(2):
            self._error(HTTPStatus.NOT_FOUND, f"nothing to post at {path[:80]!r}")
            return
        # A custom header cannot be sent cross-site without a preflight we never answer,
        # so another web site cannot pause desks through a visitor's browser.
        # With accounts, the session's CSRF token (checked by the gate) does this job.
        if not self.gate.required and self.headers.get("X-Sitless") != "1":
            self._error(HTTPStatus.FORBIDDEN, "missing X-Sitless: 1 header")
            return
        if match.group(2) == "/tare":
            app = self.server.app
            tare.post(self, app.operations or app.source, match.group(1))
        else:
            self._pause(match.group(1))

    def _pause(self, desk: str) -> None:
        pause = getattr(self.server.app.source, "pause", None) if self.may_pause() else None
        if pause is None:
            self._error(HTTPStatus.NOT_IMPLEMENTED, "this hub cannot pause desks")
            return
        try:
            pause(desk)
        except (SitlessError, KeyError, ValueError) as exc:
            self._error(HTTPStatus.CONFLICT, str(exc))
            return
        self.server.app.broadcaster.poll_once()
        self._json(HTTPStatus.OK, {"desk": desk, "paused": True})

    def _page(self) -> None:
        body = _static("index.html")
        if body is None:
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, "the page is missing from the package")
            return
        self._send(HTTPStatus.OK, body, _TYPES[".html"])

    def _health(self) -> None:
        checks = self.server.app.health()
        good = ops.healthy(checks)
        body = {
            "status": "ok" if good else "unhealthy",
            "checks": {name: check.as_json() for name, check in checks.items()},
            "desks": len(self.server.app.broadcaster.latest().desks),
        }
        self._json(HTTPStatus.OK if good else HTTPStatus.SERVICE_UNAVAILABLE, body)

    def _metrics(self) -> None:
        body = metrics.render(self.server.app.registry)
        body += web_metrics(self.server.app.counters).encode()
        self._send(HTTPStatus.OK, body, metrics.CONTENT_TYPE)

    def _desks(self) -> None:
        frame = self.server.app.broadcaster.latest()
        self._json(HTTPStatus.OK, self._frame_json(frame))

    def _one_desk(self, desk: str) -> None:
        frame = self.server.app.broadcaster.latest()
        if desk not in frame.desks or not self.sees(desk):
            self._error(HTTPStatus.NOT_FOUND, f"no desk {desk!r}")
            return
        now = time.time()
        self._json(HTTPStatus.OK, {"ts": now, "desk": as_of(frame.desks[desk], now)})

    def _events(self) -> None:
        """Server-sent events: a snapshot first, then only the desks that changed.

        Each new frame names the desks that changed since the one before, so
        a wake-up costs what changed, not what the hub knows; a viewer that
        fell further behind than the frames kept gets a fresh snapshot.
        """
        app = self.server.app
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Accel-Buffering", "no")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        frame = app.broadcaster.latest()
        try:
            self._event("snapshot", self._frame_json(frame))
            while not app.broadcaster.stopping:
                newer = app.broadcaster.wait_newer(frame.version, KEEPALIVE_S)
                if app.broadcaster.stopping:
                    break
                if newer.version == frame.version:
                    self.wfile.write(b": keepalive\n\n")
                    self.wfile.flush()
                    continue
                self._changes(frame, newer)
                frame = newer
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            logger.debug("a status page viewer went away")

    def _changes(self, seen: Frame, frame: Frame) -> None:
        """The desks this viewer may see that changed or went after ``seen``, as one event.

        Viewers who see every desk send the same bytes for the same change,
        so those are encoded once for all of them (``Broadcaster.shared``).
        """
        broadcaster = self.server.app.broadcaster
        delta = broadcaster.since(seen.version, frame)
        if delta is None:
            self._event("snapshot", self._frame_json(frame))  # it names the viewer: never shared
            return
        if self._narrowed():
            data = self._change_events(seen, frame, delta)
        else:
            key = ("every desk", seen.version, frame.version)
            data = broadcaster.shared(key, lambda: self._change_events(seen, frame, delta))
        if data:
            self.wfile.write(data)
            self.wfile.flush()

    def _change_events(self, seen: Frame, frame: Frame, delta: Delta) -> bytes:
        now = time.time()
        desks = [as_of(frame.desks[d], now) for d in delta.changed if self.sees(d)]
        gone = [d for d in delta.gone if self.sees(d)]
        data = b""
        if desks or gone:
            data += _sse("desks", {"ts": now, "desks": desks, "gone": gone})
        if frame.counters != seen.counters and not self._narrowed():
            data += _sse("counters", {"ts": frame.ts, "counters": frame.counters})
        return data

    def _narrowed(self) -> bool:
        """Whether this viewer sees less than every desk (hub-wide counters are left out)."""
        return self.gate.required and (self.viewer is None or self.viewer.role != "admin")

    def _frame_json(self, frame: Frame) -> dict[str, Any]:
        app = self.server.app
        desks = self.may_see(frame.desks)
        now = time.time()  # the frame may be old; the running clocks are moved on to now
        body: dict[str, Any] = {
            "ts": now,
            "title": app.title,
            "can_pause": hasattr(app.source, "pause") and self.may_pause(),
            "limits": app.limits,
            "counters": {} if self._narrowed() else frame.counters,
            "desks": [as_of(desks[k], now) for k in sorted(desks)],
            "notice": self.gate.notice,
        }
        if self.session is not None:
            body["csrf"] = self.session.csrf
        if self.viewer is not None:
            body["user"] = self.viewer.name
        return body

    def _event(self, name: str, body: object) -> None:
        self.wfile.write(_sse(name, body))
        self.wfile.flush()


def _sse(name: str, body: object) -> bytes:
    """One server-sent event named ``name`` carrying ``body`` as JSON."""
    data = json.dumps(body, separators=(",", ":"))
    return f"event: {name}\ndata: {data}\n\n".encode()


class StatusServer:
    """Serves the status page for one source until stop()."""

    def __init__(  # noqa: PLR0913 - keyword-only knobs with defaults
        self,
        source: StatusSource,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        poll_s: float = 0.5,
        title: str = "sitless",
        limits: Mapping[str, float] | None = None,
        gate: Gate | None = None,
        privacy: Privacy | None = None,
        max_connections: int = 64,
        idle_timeout: float = 10.0,
        operations: ops.OperationsSource | None = None,
        me: personal.Personal | None = None,
    ) -> None:
        self.source = source
        self.personal = me or personal.Personal()
        self.operations = operations
        self.registry = metrics.registry(source, operations)
        self.poll_s = poll_s
        self.title = title
        self.limits = dict(limits or {})
        self.broadcaster = Broadcaster(source, poll_s)
        self.gate = gate or Gate(hosts=allowed_hosts(host, []))
        self.counters: Counters = self.gate.counters
        self.privacy = privacy or Privacy()
        self._zones: tuple[int, list[dict[str, Any]]] = (-1, [])
        self._zones_lock = threading.Lock()
        if not self.gate.required and not is_loopback(host):
            msg = f"status page on {host}: without accounts it may only listen on loopback"
            raise SitlessError(msg)
        try:
            self._httpd = _Server(
                (host, port),
                _Handler,
                max_connections=max_connections,
                idle_timeout=idle_timeout,
                counters=self.counters,
            )
        except OSError as exc:
            msg = f"status page cannot listen on {host}:{port} ({exc.strerror})"
            raise SitlessError(msg) from exc
        self._httpd.app = self
        self._thread: threading.Thread | None = None

    def zones_of(self, frame: Frame) -> list[dict[str, Any]]:
        """The zone counts of one frame, worked out once for every facilities viewer."""
        with self._zones_lock:
            version, counts = self._zones
            if version != frame.version:
                counts = zones(frame.desks.values(), self.privacy)
                self._zones = (frame.version, counts)
            return counts

    def health(self) -> dict[str, ops.Check]:
        """The page's own poller, then the hub's checks when it runs for real."""
        polled = self.broadcaster.polled
        age = None if polled is None else time.monotonic() - polled
        if age is not None and age < max(10.0, 20 * self.poll_s):
            checks = {"status_page": ops.Check(ok=True, detail=f"polled {age:.1f} s ago")}
        else:
            shown = "never" if age is None else f"{age:.0f} s ago"
            checks = {"status_page": ops.Check(ok=False, detail=f"last poll of the hub {shown}")}
        if self.operations is not None:
            checks.update(self.operations.health())
        return checks

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Where a browser finds the page."""
        host = str(self._httpd.server_address[0])
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - only compared
        return f"http://{shown}:{self.port}/"

    def start(self) -> Self:
        """Begin serving on a background thread."""
        self.broadcaster.start()
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="sitless-web",
            daemon=True,
        )
        self._thread.start()
        logger.info("status page at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving; open event streams end within a poll."""
        self.broadcaster.stop()
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(5)
        self._httpd.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
