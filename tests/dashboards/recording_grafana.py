"""A small HTTP server on loopback that answers the few Grafana API calls a push makes.

No Grafana server exists where the tests run, so this stands in for one: it
keeps folders, datasources and dashboards by uid in memory, as Grafana does,
checks the bearer token, and records every call so a test can see exactly what
the client sent.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.servers import LOOPBACK


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class GrafanaState:
    token: str
    calls: list[Call] = field(default_factory=list)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    state: GrafanaState

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = self.headers.get("Authorization")
        state = self.state
        with state.lock:
            state.calls.append(Call(self.command, self.path, body, auth))
            if auth != f"Bearer {state.token}":
                self._answer(401, {"message": "invalid API key"})
                return
            self._route(self.command, self.path, body)

    def _route(self, method: str, path: str, body: Any) -> None:
        parts = tuple(path.split("?", maxsplit=1)[0].strip("/").split("/"))
        routes = {
            ("GET", 3, "folders"): self._get_folder,
            ("POST", 2, "folders"): self._create_folder,
            ("GET", 4, "datasources"): self._get_datasource,
            ("PUT", 4, "datasources"): self._update_datasource,
            ("POST", 2, "datasources"): self._create_datasource,
            ("POST", 3, "dashboards"): self._save_dashboard,
        }
        route = routes.get((method, len(parts), parts[1] if len(parts) > 1 else ""))
        if route is None or parts[0] != "api":
            self._answer(404, {"message": "not found"})
            return
        status, answer = route(parts, body)
        self._answer(status, answer)

    def _get_folder(self, parts: tuple[str, ...], _body: Any) -> tuple[int, Any]:
        folder = self.state.folders.get(parts[2])
        return (200, folder) if folder else (404, {"message": "folder not found"})

    def _create_folder(self, _parts: tuple[str, ...], body: Any) -> tuple[int, Any]:
        if body["uid"] in self.state.folders:
            return 409, {"message": "a folder with that uid exists"}
        self.state.folders[body["uid"]] = {"uid": body["uid"], "title": body["title"]}
        return 200, self.state.folders[body["uid"]]

    def _get_datasource(self, parts: tuple[str, ...], _body: Any) -> tuple[int, Any]:
        found = self.state.datasources.get(parts[3]) if parts[2] == "uid" else None
        return (200, found) if found else (404, {"message": "Data source not found"})

    def _update_datasource(self, parts: tuple[str, ...], body: Any) -> tuple[int, Any]:
        if parts[2] != "uid" or parts[3] not in self.state.datasources:
            return 404, {"message": "Data source not found"}
        self.state.datasources[parts[3]] = body
        return 200, {"message": "Datasource updated"}

    def _create_datasource(self, _parts: tuple[str, ...], body: Any) -> tuple[int, Any]:
        if body["uid"] in self.state.datasources:
            return 409, {"message": "data source with the same uid exists"}
        self.state.datasources[body["uid"]] = body
        return 200, {"message": "Datasource added"}

    def _save_dashboard(self, parts: tuple[str, ...], body: Any) -> tuple[int, Any]:
        board = body["dashboard"]
        if parts[2] != "db":
            return 404, {"message": "not found"}
        if board["uid"] in self.state.dashboards and not body.get("overwrite"):
            return 412, {"message": "dashboard exists", "status": "name-exists"}
        if body.get("folderUid") not in self.state.folders:
            return 400, {"message": "folder not found"}
        self.state.dashboards[board["uid"]] = body
        return 200, {"status": "success", "uid": board["uid"]}

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - http.server's names


class RecordingGrafana:
    """Start with ``start()``, point the client at ``url``, read ``state``, then ``stop()``."""

    def __init__(self, token: str) -> None:
        self.state = GrafanaState(token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._server = ThreadingHTTPServer((LOOPBACK, 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
