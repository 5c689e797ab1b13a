"""The serial port to a board: opening it with one clear error, and reading whole lines.

pyserial's own ``readline`` returns a partial line when its timeout expires,
which would cut an ``SL`` message in two; :class:`SerialLink` keeps the tail
until the newline arrives so callers only ever see complete lines.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Final

import serial

from hub.board.serial_lines import MAX_LINE, SerialMessage, decode, encode
from hub.errors import DeviceError, ProtocolError

logger = logging.getLogger(__name__)

DEFAULT_BAUD: Final = 115200


def open_port(port: str, baud: int = DEFAULT_BAUD, timeout: float = 0.1) -> Any:
    """Open a device path or a pyserial URL (``loop://``); a missing port is a DeviceError."""
    try:
        return serial.serial_for_url(port, baudrate=baud, timeout=timeout)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise DeviceError(f"cannot open serial port {port}: {exc}") from exc


class SerialLink:
    """Whole lines in, ``SL`` messages out; writes are serialised for use from several threads."""

    def __init__(self, port: Any, name: str = "") -> None:
        self.port = port
        self.name = name or str(getattr(port, "port", "") or "serial")
        self._tail = b""
        self._write_lock = threading.Lock()

    @classmethod
    def open(cls, port: str, baud: int = DEFAULT_BAUD) -> SerialLink:
        """Open the port by name."""
        return cls(open_port(port, baud), port)

    def read_line(self, timeout: float = 0.5) -> str | None:
        """The next complete line without its ending, or None when none arrived in time."""
        deadline = time.monotonic() + timeout
        while True:
            if b"\n" in self._tail:
                raw, self._tail = self._tail.split(b"\n", 1)
                return raw.decode("utf-8", "replace").rstrip("\r")
            if len(self._tail) > MAX_LINE * 2:
                raw, self._tail = self._tail, b""
                logger.warning(
                    "dropped %d bytes without a line ending from %s", len(raw), self.name
                )
            if time.monotonic() >= deadline:
                return None
            try:
                chunk = self.port.read(max(1, self.port.in_waiting))
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"lost the serial port {self.name}: {exc}") from exc
            self._tail += chunk

    def read_message(self, timeout: float = 0.5) -> tuple[str | None, SerialMessage | None]:
        """The next line and, when it is a valid ``SL`` line, its decoded message."""
        line = self.read_line(timeout)
        if line is None:
            return None, None
        try:
            return line, decode(line)
        except ProtocolError as exc:
            logger.warning("ignored a broken line from %s: %s", self.name, exc)
            return line, None

    def drain(self) -> None:
        """Forget everything received so far, so the next line is a fresh one."""
        self._tail = b""
        try:
            self.port.reset_input_buffer()
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"lost the serial port {self.name}: {exc}") from exc

    def send(self, kind: str, payload: Any) -> None:
        """Write one ``SL`` line to the board."""
        data = encode(kind, payload)
        with self._write_lock:
            try:
                self.port.write(data)
                self.port.flush()
            except (serial.SerialException, OSError) as exc:
                raise DeviceError(f"lost the serial port {self.name}: {exc}") from exc

    def close(self) -> None:
        """Release the port."""
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            logger.debug("closing %s failed", self.name, exc_info=True)
