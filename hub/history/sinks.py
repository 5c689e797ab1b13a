"""The two ways to hand line protocol to a server: InfluxDB 1.x ``/write`` and the v2 write API.

A sink sends one batch synchronously and says how it went in one of three
ways: it returns (accepted), raises ``SinkUnavailableError`` (down, busy, or not
letting us in: keep the batch and try later) or raises ``SinkRejectedError`` (the
server read the batch and refused the data itself: bisect it and dead-letter
the bad lines). Credentials travel in headers, never in URLs, so they cannot
leak into a log line.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from typing import Final, Protocol
from urllib.parse import urlencode

import urllib3
from influxdb_client.client.influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

from hub.config import HistoryConfig
from hub.errors import ConfigError, HistoryError
from hub.history.points import PRECISION

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 30.0
BAD_DATA: Final = frozenset({400, 413, 422})
"""Statuses that blame the lines themselves; any other 4xx blames our settings."""
_REASON_CHARS: Final = 300


def auth_headers(history: HistoryConfig) -> dict[str, str]:
    """The ``Authorization`` header for InfluxDB: a v2 token, else v1 basic auth, else none."""
    if history.api == "v2" and history.token:
        return {"Authorization": "Token " + history.token.get_secret_value()}
    if history.username:
        password = history.password.get_secret_value() if history.password else ""
        pair = f"{history.username}:{password}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


class SinkUnavailableError(HistoryError):
    """The server did not take the batch for a reason that may pass: keep it and retry."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        self.status = status
        super().__init__(reason)


class SinkRejectedError(HistoryError):
    """The server refused the data in the batch as invalid; retrying it unchanged cannot help."""

    def __init__(self, status: int, reason: str) -> None:
        self.status = status
        super().__init__(f"HTTP {status}: {reason}")


class Sink(Protocol):
    """Sends one batch of lines to a target ("main" or "personal")."""

    def send(self, target: str, lines: Sequence[str]) -> None:
        """Deliver or raise ``SinkUnavailableError`` / ``SinkRejectedError``."""

    def close(self) -> None:
        """Release connections."""


def _classify(status: int, body: str) -> HistoryError:
    reason = body.strip().replace("\n", " ")[:_REASON_CHARS] or "no reason given"
    if status in BAD_DATA:
        return SinkRejectedError(status, reason)
    if status == 429 or status >= 500:
        return SinkUnavailableError(f"server busy or failing: HTTP {status}: {reason}", status)
    return SinkUnavailableError(
        f"server refused us (check url, credentials and database/bucket): HTTP {status}: {reason}",
        status,
    )


class V1Sink:
    """InfluxDB 1.x: POST line protocol to ``/write?db=...&precision=ms``."""

    def __init__(self, history: HistoryConfig) -> None:
        if not history.url or not history.database:
            raise ConfigError(['history: api = "v1" needs url and database'])
        self._base = history.url.rstrip("/")
        self._databases = {"main": history.database, "personal": history.personal_database}
        self._headers = {"Content-Type": "text/plain; charset=utf-8", **auth_headers(history)}
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S), retries=False
        )

    def send(self, target: str, lines: Sequence[str]) -> None:
        """POST the batch; 204 means every line was written."""
        database = self._databases.get(target)
        if not database:
            raise SinkRejectedError(400, f"no database configured for {target} points")
        url = f"{self._base}/write?{urlencode({'db': database, 'precision': PRECISION})}"
        try:
            resp = self._http.request(
                "POST", url, body="\n".join(lines).encode(), headers=self._headers
            )
        except urllib3.exceptions.HTTPError as exc:
            raise SinkUnavailableError(f"cannot reach {self._base}: {type(exc).__name__}") from exc
        if resp.status in (200, 204):
            return
        raise _classify(resp.status, resp.data.decode(errors="replace"))

    def close(self) -> None:
        """Drop pooled connections."""
        self._http.clear()


class V2Sink:
    """InfluxDB 2.x, 3.x and Cloud through influxdb-client's synchronous write API."""

    def __init__(self, history: HistoryConfig) -> None:
        if not history.url or not history.org or not history.bucket:
            raise ConfigError(['history: api = "v2" needs url, org and bucket'])
        self._org = history.org
        self._buckets = {"main": history.bucket, "personal": history.personal_bucket}
        token = history.token.get_secret_value() if history.token else None
        if token is None and history.username:
            # InfluxDB 1.8's v2 compatibility takes "user:password" as the token.
            password = history.password.get_secret_value() if history.password else ""
            token = f"{history.username}:{password}"
        self._base = history.url
        self._client = InfluxDBClient(
            url=history.url,
            token=token or "",
            org=history.org,
            timeout=int(READ_TIMEOUT_S * 1000),
            retries=False,
        )
        self._write = self._client.write_api(write_options=SYNCHRONOUS)

    def send(self, target: str, lines: Sequence[str]) -> None:
        """Write the batch in the calling thread; errors come back as exceptions."""
        bucket = self._buckets.get(target)
        if not bucket:
            raise SinkRejectedError(400, f"no bucket configured for {target} points")
        # The client's stubs type the precision as its class, whose members are plain strings.
        try:
            self._write.write(
                bucket=bucket,
                org=self._org,
                record=list(lines),
                write_precision=PRECISION,  # type: ignore[arg-type]
            )
        except ApiException as exc:
            body = (
                exc.body.decode(errors="replace")
                if isinstance(exc.body, bytes)
                else str(exc.body or exc.reason or "")
            )
            raise _classify(int(exc.status or 0), body) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise SinkUnavailableError(f"cannot reach {self._base}: {type(exc).__name__}") from exc

    def close(self) -> None:
        """Close the client and its connection pool."""
        self._write.close()  # type: ignore[no-untyped-call]
        self._client.close()  # type: ignore[no-untyped-call]


def make_sink(history: HistoryConfig) -> Sink | None:
    """The sink for the configured api, or None when the spool itself is the store."""
    if history.api == "v1":
        return V1Sink(history)
    if history.api == "v2":
        return V2Sink(history)
    return None
