"""A real Home Assistant core for the tests: started, onboarded and driven like a user would.

Each instance gets its own configuration folder and a free loopback port.
Onboarding goes through the REST API (the user, the core configuration,
analytics, the integration step), then a long-lived token is made over the
websocket, so the token survives a restart. The MQTT integration is added with
the config-flow API, as a user clicking through the UI would add it.

Onboarding also adds a few integrations of its own; those that would reach
the internet (weather, internet radio) are removed again right after it, as a
user might, so the tests never leave loopback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import websocket

from tests.support.servers import LOOPBACK, free_port
from tests.support.waiting import wait_until

CONFIGURATION = """\
homeassistant:
  name: sitless test home
  unit_system: metric
  time_zone: UTC
  currency: EUR
  country: DE
  # No home location: the weather integration onboarding adds stays idle.
  latitude: 0
  longitude: 0
  elevation: 0
http:
  server_host: {host}
  server_port: {port}
api:
# The device page the docs show (default_config would add integrations that
# want radios, hardware or the internet).
frontend:
logger:
  default: warning
"""

# Integrations onboarding sets up that would talk to servers on the internet.
ONLINE_INTEGRATIONS = ("met", "radio_browser")
USERNAME = "owner"
PASSWORD = "a test password, not a secret"  # noqa: S105 - a private throwaway instance


class HomeAssistantError(RuntimeError):
    """Home Assistant answered something the test did not expect."""


class HomeAssistant:
    """One Home Assistant process, its configuration folder and its API."""

    def __init__(self, hass: Path, workdir: Path, version: str) -> None:
        self.hass = hass
        self.version = version
        self.config_dir = workdir / "config"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.host = LOOPBACK
        self.port = free_port()
        self.url = f"http://{self.host}:{self.port}"
        self.client_id = f"{self.url}/"
        self.log_path = workdir / "hass.log"
        (self.config_dir / "configuration.yaml").write_text(
            CONFIGURATION.format(host=self.host, port=self.port)
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.token: str | None = None  # the long-lived one
        self.refresh_token: str | None = None
        self.access_token: str | None = None
        self._ws: websocket.WebSocket | None = None
        self._ws_id = 0

    # --- process ------------------------------------------------------------------

    def start(self, timeout: float = 90.0) -> None:
        """Start and wait until the core has started (every integration set up)."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.hass), "--config", str(self.config_dir), "--skip-pip"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
            )
        wait_until(self._answers, timeout=timeout, what=f"Home Assistant {self.version} HTTP")
        if self.token is not None:
            wait_until(self._running, timeout=timeout, what="Home Assistant core running")

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as a service manager would do it."""
        self.close_ws()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            msg = f"Home Assistant exited with {self.proc.returncode}:\n{self.log()[-3000:]}"
            raise HomeAssistantError(msg)
        try:  # any answer will do: once onboarded, /api/ wants a token (401)
            with urllib.request.urlopen(f"{self.url}/api/", timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except (OSError, urllib.error.URLError):
            return False

    def _running(self) -> bool:
        try:
            return bool(self.get("/api/config").get("state") == "RUNNING")
        except (OSError, HomeAssistantError):
            return False

    # --- onboarding ---------------------------------------------------------------

    def onboard(self) -> None:
        """Create the owner, finish every onboarding step, keep a long-lived token."""
        created = self._post_json(
            "/api/onboarding/users",
            {
                "client_id": self.client_id,
                "name": "Owner",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
            token=None,
        )
        tokens = self._token_grant(
            {
                "grant_type": "authorization_code",
                "code": created["auth_code"],
                "client_id": self.client_id,
            }
        )
        self.access_token = tokens["access_token"]
        self.refresh_token = tokens["refresh_token"]
        token = self.access_token
        self._post_json("/api/onboarding/core_config", {}, token=token)
        self._post_json("/api/onboarding/analytics", {}, token=token)
        self._post_json(
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": f"{self.url}/?auth_callback=1"},
            token=token,
        )
        self.token = token
        long_lived = self.ws(
            "auth/long_lived_access_token", client_name="sitless tests", lifespan=30
        )
        self.token = str(long_lived)
        self.close_ws()
        wait_until(self._running, timeout=60, what="Home Assistant core running")
        for entry in self.get("/api/config/config_entries/entry"):
            if entry["domain"] in ONLINE_INTEGRATIONS:
                self.delete(f"/api/config/config_entries/entry/{entry['entry_id']}")

    def browser_tokens(self) -> dict[str, Any]:
        """What the frontend keeps in local storage (``hassTokens``) after the owner logs in.

        A fresh access token from the owner's refresh token of onboarding, for
        the frontend's own client id (the page's origin).
        """
        if self.refresh_token is None:
            msg = "Home Assistant is not onboarded yet"
            raise HomeAssistantError(msg)
        grant = self._token_grant(
            {
                "grant_type": "refresh_token",
                "refresh_token": self.refresh_token,
                "client_id": self.client_id,
            }
        )
        return {
            "access_token": grant["access_token"],
            "token_type": "Bearer",
            "expires_in": grant["expires_in"],
            "expires": int((time.time() + grant["expires_in"]) * 1000),
            "refresh_token": self.refresh_token,
            "hassUrl": self.url,
            "clientId": self.client_id,
        }

    def _token_grant(self, form: dict[str, str]) -> dict[str, Any]:
        req = urllib.request.Request(
            f"{self.url}/auth/token",
            data=urllib.parse.urlencode(form).encode(),
            method="POST",
        )
        return self._send(req)

    # --- REST ---------------------------------------------------------------------

    def get(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", headers=self._auth())
        return self._send(req)

    def delete(self, path: str) -> Any:
        req = urllib.request.Request(f"{self.url}{path}", headers=self._auth(), method="DELETE")
        return self._send(req)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._post_json(path, body, token=self.token)

    def _post_json(self, path: str, body: dict[str, Any], *, token: str | None) -> Any:
        headers = {"Content-Type": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(
            f"{self.url}{path}", data=json.dumps(body).encode(), headers=headers, method="POST"
        )
        return self._send(req)

    def _auth(self) -> dict[str, str]:
        if self.token is None:
            msg = "Home Assistant is not onboarded yet"
            raise HomeAssistantError(msg)
        return {"Authorization": f"Bearer {self.token}"}

    def _send(self, req: urllib.request.Request) -> Any:
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            msg = f"{req.get_method()} {req.full_url} answered {exc.code}: {detail}"
            raise HomeAssistantError(msg) from exc
        return json.loads(raw) if raw else None

    # --- websocket ----------------------------------------------------------------

    def ws(self, command: str, **fields: Any) -> Any:
        """Send one websocket command and return its result (the connection is kept)."""
        sock = self._socket()
        self._ws_id += 1
        sock.send(json.dumps({"id": self._ws_id, "type": command, **fields}))
        while True:
            answer = json.loads(sock.recv())
            if answer.get("id") != self._ws_id or answer.get("type") != "result":
                continue
            if not answer.get("success"):
                msg = f"websocket {command} failed: {answer.get('error')}"
                raise HomeAssistantError(msg)
            return answer.get("result")

    def _socket(self) -> websocket.WebSocket:
        if self._ws is not None:
            return self._ws
        token = self.token
        if token is None:
            msg = "Home Assistant is not onboarded yet"
            raise HomeAssistantError(msg)
        sock = websocket.create_connection(
            f"ws://{self.host}:{self.port}/api/websocket", timeout=30
        )
        hello = json.loads(sock.recv())
        if hello.get("type") != "auth_required":
            msg = f"websocket greeting was {hello}"
            raise HomeAssistantError(msg)
        sock.send(json.dumps({"type": "auth", "access_token": token}))
        answer = json.loads(sock.recv())
        if answer.get("type") != "auth_ok":
            sock.close()
            msg = f"websocket login refused: {answer.get('type')}"
            raise HomeAssistantError(msg)
        self._ws = sock
        self._ws_id = 0
        return sock

    def close_ws(self) -> None:
        if self._ws is not None:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                self._ws.close()
            self._ws = None

    # --- MQTT and registries ------------------------------------------------------

    def add_mqtt(
        self, host: str, port: int, username: str | None = None, password: str | None = None
    ) -> dict[str, Any]:
        """Add the MQTT integration through the config flow, as the UI does."""
        flow = self.post("/api/config/config_entries/flow", {"handler": "mqtt"})
        if flow.get("type") == "menu":  # newer releases may offer a choice first
            flow = self.post(
                f"/api/config/config_entries/flow/{flow['flow_id']}", {"next_step_id": "broker"}
            )
        if flow.get("type") != "form" or flow.get("step_id") != "broker":
            msg = f"the MQTT config flow began with {flow}"
            raise HomeAssistantError(msg)
        answer: dict[str, Any] = {"broker": host, "port": port}
        if username is not None:
            answer["username"] = username
        if password is not None:
            answer["password"] = password
        done = self.post(f"/api/config/config_entries/flow/{flow['flow_id']}", answer)
        if done.get("type") != "create_entry":
            msg = f"the MQTT config flow ended with {done}"
            raise HomeAssistantError(msg)
        wait_until(self.mqtt_loaded, timeout=30, what="MQTT integration loaded")
        return dict(done["result"])

    def mqtt_loaded(self) -> bool:
        entries = self.get("/api/config/config_entries/entry")
        return any(e["domain"] == "mqtt" and e["state"] == "loaded" for e in entries)

    def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in self.get("/api/states")}

    def entities(self, platform: str = "mqtt") -> list[dict[str, Any]]:
        return [e for e in self.ws("config/entity_registry/list") if e["platform"] == platform]

    def devices(self) -> list[dict[str, Any]]:
        return list(self.ws("config/device_registry/list"))

    def press(self, entity_id: str) -> None:
        self.post("/api/services/button/press", {"entity_id": entity_id})
