"""One place that sets up logging: quiet by default, structured, desk id in every desk line.

Modules log with ``logging.getLogger(__name__)`` and lazy ``%`` arguments, and
pass ``extra={"desk": desk_id}`` on lines about a desk; the formatter puts
``desk=<id>`` into the line (or a ``desk`` key in JSON mode).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Final

LEVELS: Final = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def desk(desk_id: str) -> dict[str, Any]:
    """The ``extra`` for a log line about one desk."""
    return {"desk": desk_id}


class KeyValueFormatter(logging.Formatter):
    """``time level logger desk=<id> message`` - easy to grep and to read."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102 - as logging.Formatter
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created))
        desk_id = getattr(record, "desk", None)
        where = f" desk={desk_id}" if desk_id else ""
        line = f"{stamp} {record.levelname.lower():7} {record.name}{where} {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:  # noqa: D102 - as logging.Formatter
        body: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        desk_id = getattr(record, "desk", None)
        if desk_id:
            body["desk"] = desk_id
        if record.exc_info:
            body["exc"] = self.formatException(record.exc_info)
        return json.dumps(body)


def setup(level: str = "warning", *, json_format: bool = False, verbosity: int = 0) -> None:
    """Configure the root logger once; each ``-v`` lowers the level by one step."""
    numeric = LEVELS.get(level, logging.WARNING) - 10 * verbosity
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_format else KeyValueFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.DEBUG))
    for noisy in ("urllib3", "amqtt", "transitions", "websockets", "asyncio"):
        logging.getLogger(noisy).setLevel(max(numeric, logging.WARNING))
