"""An MQTT broker inside the process (amqtt), so the demo needs nothing installed.

It listens on loopback only, on a free port, without persistence: it exists
for a newcomer's first look, not for production, where mosquitto with the
settings in docs/protocol.md keeps events across restarts. amqtt runs on its
own asyncio loop in a background thread so callers stay synchronous.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import socket
import threading
from typing import Any

from hub.errors import SitlessError

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 15.0


def free_port(host: str = LOOPBACK) -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections there (a broker, we assume)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """amqtt on a loopback port, started and stopped from synchronous code."""

    def __init__(self, port: int | None = None) -> None:
        self.host = LOOPBACK
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._broker: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def url(self) -> str:
        """Where clients connect."""
        return f"mqtt://{self.host}:{self.port}"

    def start(self) -> EmbeddedBroker:
        """Run the broker on its own thread; return once it accepts connections."""
        if importlib.util.find_spec("amqtt") is None:
            raise SitlessError(
                "the embedded broker needs amqtt: pipx install 'sitless[demo]', "
                "or name a running broker with --broker"
            )
        self._thread = threading.Thread(target=self._run, name="sitless-broker", daemon=True)
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT_S) or self._failure is not None:
            self.stop()
            msg = f"the embedded MQTT broker did not start on {self.url}"
            if self._failure is not None:
                msg += f" ({self._failure})"
            raise SitlessError(msg) from self._failure
        logger.info("embedded MQTT broker on %s", self.url)
        return self

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._start())
        except Exception as exc:  # noqa: BLE001 - reported to the starting thread, not lost
            self._failure = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _start(self) -> None:
        from amqtt.broker import Broker  # noqa: PLC0415 - only the demo needs amqtt loaded

        config = {
            "listeners": {
                "default": {
                    "type": "tcp",
                    "bind": f"{self.host}:{self.port}",
                    "max_connections": 10000,
                }
            },
            "plugins": {
                "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
            },
        }
        self._broker = Broker(config)
        await self._broker.start()

    def stop(self) -> None:
        """Shut the broker down and end its thread."""
        loop, broker = self._loop, self._broker
        if loop is not None and broker is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(broker.shutdown(), loop)
            with contextlib.suppress(Exception):
                future.result(10)
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        self._broker = None
