"""A real paho-mqtt client for tests: publish, and collect what arrives.

Waits are bounded: every wait takes a timeout and polls a thread-safe list.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    qos: int
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class MqttProbe:
    """Connects to a test broker, subscribes to topics and records every message."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._connected = threading.Event()
        self.connect_rc: Any = None
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"probe-{uuid.uuid4().hex[:8]}"
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(30):
            self.close()
            msg = f"probe could not connect to {host}:{port}"
            raise TimeoutError(msg)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: Any, _p: Any = None) -> None:
        self.connect_rc = rc
        self._connected.set()

    def _on_message(self, _c: Any, _u: Any, msg: paho.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(
                Received(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos, time.time())
            )

    def subscribe(self, topic: str, qos: int = 1) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *_a: done.set()
        self.client.subscribe(topic, qos)
        # Only once the broker has answered is anything published afterwards sure to arrive;
        # on a busy machine that can take seconds (a refused topic is answered too).
        done.wait(30)

    def publish(self, topic: str, payload: Any, *, qos: int = 1, retain: bool = False) -> None:
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(30)

    def received(self, topic: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if topic is None or m.topic == topic]

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 30.0) -> Received:
        """Return the first recorded message matching predicate, waiting up to timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                for m in self.messages:
                    if predicate(m):
                        return m
            if time.monotonic() >= deadline:
                seen = [(m.topic, m.payload[:80]) for m in self.received()]
                msg = f"no matching message within {timeout} s; saw {seen[-20:]}"
                raise TimeoutError(msg)
            time.sleep(0.02)

    def wait_topic(
        self, topic: str, timeout: float = 30.0, where: Callable[[Any], bool] | None = None
    ) -> Received:
        """Wait for a JSON (or text) message on topic whose decoded payload passes where."""

        def match(m: Received) -> bool:
            if m.topic != topic:
                return False
            if where is None:
                return True
            try:
                return bool(where(m.json()))
            except ValueError:
                return bool(where(m.payload.decode(errors="replace")))

        return self.wait_for(match, timeout)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
