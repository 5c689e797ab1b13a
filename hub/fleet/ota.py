"""Firmware updates over WiFi: the manifest, the update server, and the ``update`` command.

The hub reads a firmware folder (``sitless/*.py`` or ``*.mpy``, the version
from ``sitless/payload.py``), lists each file with its size and SHA-256, and
serves exactly those files over HTTP. Each chair gets one ``update`` command;
its ack says whether every file arrived and checked, and its next ``info``
says which version it runs: the new one (updated) or the old one (rolled back).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho

from hub import log as hublog
from hub.config import MqttConfig
from hub.contract.payloads import CmdPayload
from hub.contract.protocol import DESK_ID, decode_json, device_topic, split_topic
from hub.errors import ConfigError, ProtocolError
from hub.mqtt import paho as broker

logger = logging.getLogger(__name__)

VERSION_LINE = re.compile(r'^FW_VERSION\s*=\s*"([^"]{1,32})"', re.MULTILINE)
NAME = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,55}\.m?py\Z")
MAX_FILES = 64
CONFIRM_S = 180  # the chair's own default: the new code has three minutes to reach the broker


@dataclass(frozen=True, slots=True)
class Manifest:
    """A firmware version: its files' names (under ``sitless/``), bytes and SHA-256."""

    version: str
    data: dict[str, bytes]

    def entries(self) -> list[list[Any]]:
        """The command's ``files``: ``[name, size, sha256]`` each, in name order."""
        return [
            [name, len(body), hashlib.sha256(body).hexdigest()]
            for name, body in sorted(self.data.items())
        ]

    @property
    def size(self) -> int:
        """Bytes in all the files."""
        return sum(len(body) for body in self.data.values())


def build_manifest(folder: Path) -> Manifest:
    """Read a firmware folder; one ConfigError naming the problem when it is not one."""
    package = folder / "sitless"
    if not package.is_dir():
        raise ConfigError([f"--firmware: {folder} has no sitless/ folder"])
    try:
        version_text = (package / "payload.py").read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ConfigError([f"--firmware: cannot read sitless/payload.py: {exc}"]) from None
    found = VERSION_LINE.search(version_text)
    if found is None:
        raise ConfigError(["--firmware: sitless/payload.py sets no FW_VERSION"])
    data: dict[str, bytes] = {}
    for path in sorted(package.iterdir()):
        if path.suffix not in {".py", ".mpy"} or not path.is_file():
            continue
        if not NAME.match(path.name):
            raise ConfigError([f"--firmware: {path.name!r} is not a name a chair accepts"])
        data[f"sitless/{path.name}"] = path.read_bytes()
    if len(data) > MAX_FILES:
        raise ConfigError([f"--firmware: {len(data)} files; a chair takes at most {MAX_FILES}"])
    return Manifest(found.group(1), data)


@dataclass
class UpdateServer:
    """Serves one manifest's files at ``/<version>/sitless/<name>``; counts the bytes sent."""

    manifest: Manifest
    bind: str = "127.0.0.1"
    port: int = 0
    advertise: str | None = None
    sent: int = 0
    chunk_delay: float = 0.0  # seconds between 1 KB chunks (a slow link, for tests)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        """Listen, and return the base URL the chairs are told to fetch from."""
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                prefix = f"/{owner.manifest.version}/"
                body = owner.manifest.data.get(self.path.removeprefix(prefix))
                if not self.path.startswith(prefix) or body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                for at in range(0, len(body), 1024):
                    self.wfile.write(body[at : at + 1024])
                    with owner._lock:
                        owner.sent += len(body[at : at + 1024])
                    if owner.chunk_delay:
                        time.sleep(owner.chunk_delay)

            def log_message(self, *_args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((self.bind, self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        host = self.advertise or self.bind
        return f"http://{host}:{self._server.server_address[1]}/{self.manifest.version}/"

    def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """One desk's outcome: updated, refused, failed, rolled back, or no answer."""

    prefix: str
    desk: str
    outcome: str
    detail: str | None = None


@dataclass
class _Desk:
    acked: bool | None = None
    error: str | None = None
    fw: str | None = None


class _Follow:
    """The desks' acks to one command id, and the version each runs after its ack."""

    def __init__(self, cmd_id: str, targets: list[tuple[str, str]]) -> None:
        self.cmd_id = cmd_id
        self.prefixes = [p for p, _d in targets]
        self.desks = {t: _Desk() for t in targets}
        self.lock = threading.Lock()

    def on_message(self, _c: paho.Client, _u: object, msg: paho.MQTTMessage) -> None:
        try:
            where = split_topic(msg.topic, self.prefixes)
            body = decode_json(bytes(msg.payload), msg.topic)
        except ProtocolError:
            return
        state = self.desks.get((where.prefix, where.desk))
        if state is None:
            return
        with self.lock:
            if where.kind == "ack" and body.get("id") == self.cmd_id:
                state.acked = body.get("ok") is True
                error = body.get("error")
                state.error = error if isinstance(error, str) else None
            elif where.kind == "info" and state.acked and not msg.retain:
                fw = body.get("fw")
                state.fw = fw if isinstance(fw, str) else "?"

    def finished(self) -> bool:
        with self.lock:
            return all(d.acked is False or d.fw is not None for d in self.desks.values())


def update_command(
    cmd_id: str, manifest: Manifest, url: str, *, seated: bool = False, confirm_s: int = CONFIRM_S
) -> str:
    """The ``update`` command's JSON, checked against the contract."""
    body: dict[str, Any] = {
        "id": cmd_id,
        "action": "update",
        "version": manifest.version,
        "url": url,
        "files": manifest.entries(),
        "confirm_s": confirm_s,
    }
    if seated:
        body["seated"] = True
    text = json.dumps(body, separators=(",", ":"))
    CmdPayload.model_validate_json(text)
    return text


def run_update(  # noqa: PLR0913 - each is one of the command's own options
    mqtt: MqttConfig,
    targets: list[tuple[str, str]],
    manifest: Manifest,
    url: str,
    wait: float,
    *,
    seated: bool = False,
    confirm_s: int = CONFIRM_S,
    tick: Callable[[], None] | None = None,
) -> list[UpdateResult]:
    """Send ``update`` to each desk and follow it to its ack and the version in its next info."""
    for _prefix, desk in targets:
        if not DESK_ID.match(desk):
            raise ConfigError([f"--desk: {desk!r} must match {DESK_ID.pattern}"])
    cmd_id = f"ota-{uuid.uuid4().hex[:10]}"
    follow = _Follow(cmd_id, targets)
    subscribed = threading.Event()

    client = broker.make_client(mqtt, broker.unique_id("ota"))
    client.on_message = follow.on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    broker.connect(client, mqtt)
    deadline = time.monotonic() + wait
    try:
        topics = sorted(
            {(device_topic(p, "+", kind), 1) for p, _d in targets for kind in ("ack", "info")}
        )
        client.subscribe(topics)
        subscribed.wait(5)
        body = update_command(cmd_id, manifest, url, seated=seated, confirm_s=confirm_s)
        for prefix, desk in targets:
            client.publish(
                device_topic(prefix, desk, "cmd"), body, qos=1, retain=False
            ).wait_for_publish(10)
            logger.info("update %s to %s sent", cmd_id, manifest.version, extra=hublog.desk(desk))
        while time.monotonic() < deadline:
            if follow.finished():
                break
            if tick is not None:
                tick()
            time.sleep(0.1)
    finally:
        client.disconnect()
        client.loop_stop()
    return [_result(t, follow.desks[t], manifest.version) for t in targets]


def _result(target: tuple[str, str], state: _Desk, version: str) -> UpdateResult:
    prefix, desk = target
    if state.acked is None:
        return UpdateResult(prefix, desk, "no answer")
    if state.acked is False:
        reason = state.error or "no reason given"
        outcome = "failed" if reason.startswith("update failed") else "refused"
        return UpdateResult(prefix, desk, outcome, reason)
    if state.fw is None:
        return UpdateResult(prefix, desk, "no answer", "staged, but the chair did not come back")
    if state.fw == version:
        return UpdateResult(prefix, desk, "updated", version)
    return UpdateResult(prefix, desk, "rolled back", f"runs {state.fw}")
