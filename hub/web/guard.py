"""Keeps the status page from being exhausted, and checks the Host header.

A connection cap, an idle timeout, and a back-off when the process runs out of
descriptors.

Every open connection costs the hub a descriptor and a thread. Without a cap
and a timeout, a few hundred idle sockets take every descriptor the process
has, and then the MQTT client cannot reconnect either. The cap is therefore
never more than a quarter of the process's descriptor limit; a connection
over the cap is answered ``503`` at once and closed. When ``accept()`` still
fails for lack of descriptors (another part of the hub used them), the
listener waits a moment instead of spinning on a socket that stays readable.
"""

from __future__ import annotations

import errno
import logging
import resource
import socket
import threading
import time
from http.server import ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_BACKOFF_S = 0.2
_WARN_EVERY_S = 60.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: application/json\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 43\r\n\r\n"
    b'{"error":"too many connections, try again"}'
)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def descriptor_limit() -> int:
    """The process's soft limit on open files (a large number when unlimited)."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(configured: int) -> int:
    """The configured cap, but never more than a quarter of the descriptors (at least 4)."""
    return max(4, min(configured, descriptor_limit() // 4))


def is_loopback(host: str) -> bool:
    """Whether a bind address only reaches this machine."""
    return host in LOOPBACK_NAMES or host.startswith("127.")


def allowed_hosts(bind: str, configured: list[str]) -> frozenset[str]:
    """Names a Host header may carry: the configured ones, loopback, a literal bind address."""
    names = {name.lower().rstrip(".") for name in configured}
    names |= LOOPBACK_NAMES
    if bind not in ("", "0.0.0.0", "::"):  # noqa: S104 - only compared
        names.add(bind.lower())
    return frozenset(names)


def host_name(header: str | None) -> str | None:
    """The name part of a Host header (no port, no brackets), lower case; None if malformed."""
    if header is None:
        return None
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not _is_port(value[end + 2 :])):
            return None
        return value[1:end]
    name, sep, port = value.rpartition(":")
    if not sep:
        name = value
    elif not _is_port(port):
        return None
    name = name.rstrip(".")
    return name or None


def _is_port(text: str) -> bool:
    return text.isdigit() and 0 < int(text) < 65536


class Counters:
    """Thread-safe tallies the page reports in ``/metrics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, float] = {}

    def add(self, name: str, amount: float = 1.0) -> None:
        """Add to one tally."""
        with self._lock:
            self._values[name] = self._values.get(name, 0.0) + amount

    def set(self, name: str, value: float) -> None:
        """Set one gauge."""
        with self._lock:
            self._values[name] = value

    def snapshot(self) -> dict[str, float]:
        """A copy of every tally."""
        with self._lock:
            return dict(self._values)


class GuardedServer(ThreadingHTTPServer):
    """A threading HTTP server with a connection cap, an idle timeout and an accept back-off."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        handler: Any,
        *,
        max_connections: int = 64,
        idle_timeout: float = 10.0,
        counters: Counters | None = None,
    ) -> None:
        self.max_connections = connection_cap(max_connections)
        self.idle_timeout = idle_timeout
        self.counters = counters or Counters()
        self._active = 0
        self._active_lock = threading.Lock()
        self._warned: dict[str, float] = {}
        super().__init__(address, handler)

    @property
    def active(self) -> int:
        """Connections being served right now."""
        with self._active_lock:
            return self._active

    def _warn(self, key: str, text: str, *args: object) -> None:
        """A warning at most once a minute per kind, so a flood cannot flood the log."""
        now = time.monotonic()
        if now - self._warned.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
            self._warned[key] = now
            logger.warning(text, *args)

    def get_request(self) -> tuple[socket.socket, Any]:
        """Accept, backing off when the process has no descriptor left."""
        try:
            return super().get_request()
        except OSError as exc:
            if exc.errno in _OUT_OF_DESCRIPTORS:
                self.counters.add("web_accept_failures")
                self._warn(
                    "fd",
                    "status page cannot accept connections: %s (open files limit %d)",
                    exc.strerror,
                    descriptor_limit(),
                )
                time.sleep(_BACKOFF_S)
            raise

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve within the cap, or answer 503 and close at once."""
        with self._active_lock:
            full = self._active >= self.max_connections
            if not full:
                self._active += 1
        if full:
            self.counters.add("web_connections_refused")
            self._warn(
                "cap",
                "status page refused a connection: %d open, the limit is %d",
                self.max_connections,
                self.max_connections,
            )
            try:
                request.setblocking(False)
                request.send(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        request.settimeout(self.idle_timeout)
        try:
            super().process_request(request, client_address)
        except Exception:
            self._release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        """Serve one connection on its thread and give its slot back when it closes."""
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release()

    def _release(self) -> None:
        with self._active_lock:
            self._active -= 1
