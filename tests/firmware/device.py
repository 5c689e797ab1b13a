"""The firmware as a running MicroPython process, and an MQTT watcher with a lasting session.

The firmware runs for real under the unix port; only the hardware is stood in
(tests/firmware/fakes): a test sets sensor and pin levels by writing small
files, and reads what the buzzer, LED and watchdog did from `FAKE` lines.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.upython import micropython_binary, micropython_path
from tests.support.waiting import wait_until

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "run_app.py"


class Device:
    """One firmware process with fake hardware in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        cfg: dict[str, Any],
        *,
        adc_uv: int = 100_000,
        env: dict[str, str] | None = None,
        wrap: list[str] | None = None,
    ) -> None:
        """`wrap` goes before the command (`ip netns exec NAME` runs it in a namespace)."""
        self.workdir = workdir
        self.fake_dir = workdir / "fake"
        self.fake_dir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(cfg))
        self.pin = cfg.get("sensor_pin", 34)
        self.set_adc(adc_uv)
        self.lines: list[str] = []
        self._lock = threading.Lock()
        full_env = dict(os.environ)
        full_env.update(
            {
                "MICROPYPATH": micropython_path(),
                "SITLESS_FAKE_DIR": str(self.fake_dir),
                "SITLESS_FAKE_ECHO": "1",
            }
        )
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [
                *(wrap or []),
                micropython_binary(),
                "-X",
                "heapsize=512k",
                str(RUNNER),
                str(self.config_path),
            ],
            cwd=workdir,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    def set_adc(self, microvolts: int) -> None:
        path = self.fake_dir / f"adc{self.pin}"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(str(microvolts))
        tmp.replace(path)

    def send_line(self, kind: str, body: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write("SL " + json.dumps({"k": kind, "p": body}) + "\n")
        self.proc.stdin.flush()

    def output(self) -> list[str]:
        with self._lock:
            return list(self.lines)

    def sl(self, kind: str) -> list[Any]:
        """Payloads of the board's `SL` console lines of one kind."""
        out = []
        for line in self.output():
            if line.startswith("SL "):
                msg = json.loads(line[3:])
                if msg["k"] == kind:
                    out.append(msg["p"])
        return out

    def fake_events(self, kind: str) -> list[list[str]]:
        return [line.split()[2:] for line in self.output() if line.startswith(f"FAKE {kind} ")]

    def wait_line(self, check: Callable[[str], bool], timeout: float = 20.0) -> str:
        def found() -> str | None:
            return next((line for line in self.output() if check(line)), None)

        try:
            return wait_until(found, timeout, "a console line")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; output tail: {self.output()[-30:]}") from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


class SessionWatcher:
    """A real paho client with a lasting session: it misses nothing across a broker restart."""

    def __init__(self, host: str, port: int, topic: str, *, unix: bool = False) -> None:
        """With `unix`, `host` is the path of the broker's unix socket (`port` unused)."""
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self.topic = topic
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"watch-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            transport="unix" if unix else "tcp",
        )
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect(host, port, keepalive=10)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            msg = "watcher could not subscribe"
            raise TimeoutError(msg)

    def _on_connect(self, client: paho.Client, _u: Any, flags: Any, *_args: Any) -> None:
        # Subscribing again would replay retained messages; a resumed session needs none.
        if not flags.session_present:
            client.subscribe(self.topic, 1)

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

    def payloads(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p, _r in self.messages if t == topic]

    def json(self, topic: str) -> list[Any]:
        return [json.loads(p) for p in self.payloads(topic)]

    def publish(self, topic: str, payload: Any, *, retain: bool = False) -> None:
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
