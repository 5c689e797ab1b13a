"""Send the shipped dashboards and their datasource to a Grafana that already runs.

For people who run Grafana themselves rather than the compose stack. Every
write names a fixed uid and overwrites, so pushing twice leaves Grafana exactly
as pushing once: one folder, one datasource, one copy of each dashboard.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from grafana_client.api import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException, GrafanaTimeoutError

from hub.config import HistoryConfig
from hub.errors import ConfigError, SitlessError

logger = logging.getLogger(__name__)

DATASOURCE_UID: Final = "sitless-influxql"
DATASOURCE_NAME: Final = "sitless"
FOLDER_UID: Final = "sitless"
FOLDER_TITLE: Final = "sitless"
MIN_INTERVAL: Final = "60s"
"""Matches the hub's default sample period, so no panel asks for finer buckets than exist."""
DEFAULT_DASHBOARDS: Final = Path(__file__).resolve().parents[3] / "dashboards"
_NOT_FOUND: Final = 404
_REFUSED: Final = (401, 403)


class GrafanaUnreachableError(SitlessError):
    """Grafana did not answer at the given URL."""


class GrafanaRefusedError(SitlessError):
    """Grafana answered but refused the credentials (401) or the permission (403)."""


@dataclass(frozen=True, slots=True)
class PushResult:
    """What a push did, for the command's summary line."""

    folder_created: bool
    datasource: str  # "created", "updated" or "skipped"
    dashboards: tuple[str, ...]


def safe_url(url: str) -> str:
    """The URL without any user:password part, fit for a message."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def check_url(url: str) -> str:
    """Refuse anything but an http(s) URL with a host before a request is made."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError as exc:
        raise ConfigError([f"--url: not a usable URL ({exc})"]) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(['--url: expected a URL like "http://grafana:3000"'])
    return url


def load_dashboards(folder: Path) -> list[dict[str, Any]]:
    """Every ``*.json`` dashboard in the folder, checked to carry a uid and a title."""
    files = sorted(folder.glob("*.json"))
    if not files:
        raise ConfigError([f"{folder}: no dashboard JSON files found"])
    out: list[dict[str, Any]] = []
    for path in files:
        try:
            board = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError([f"{path.name}: not a readable JSON dashboard ({exc})"]) from exc
        if not isinstance(board, dict) or not board.get("uid") or not board.get("title"):
            raise ConfigError([f"{path.name}: a dashboard needs a uid and a title"])
        out.append(board)
    return out


def set_timezone(boards: list[dict[str, Any]], timezone: str) -> None:
    """Make ``timezone`` the default of each board's ``timezone`` variable (the days it groups).

    The personal board groups its per-day figures (the week, the streak) by the
    days of this zone; the hub's ``schedule.timezone`` makes them the days
    ``sitless report`` and the personal page count.
    """
    for board in boards:
        for var in board.get("templating", {}).get("list", []):
            if var.get("name") == "timezone" and var.get("type") == "textbox":
                var["query"] = timezone
                var["current"] = {"text": timezone, "value": timezone}
                var["options"] = [{"selected": True, "text": timezone, "value": timezone}]


def datasource_payload(history: HistoryConfig, influx_url: str | None = None) -> dict[str, Any]:
    """The InfluxQL datasource for the history the hub writes, as Grafana's API takes it.

    A v2 server answers InfluxQL through its DBRP mapping, whose database name
    is the bucket's; a v1 server takes the database and user directly.
    """
    url = influx_url or history.url
    database = history.bucket if history.api == "v2" else history.database
    if history.api == "none" or not url or not database:
        problem = (
            "history: no InfluxDB configured (api, url and bucket/database); "
            "set them or pass --no-datasource"
        )
        raise ConfigError([problem])
    json_data: dict[str, Any] = {
        "dbName": database,
        "httpMode": "POST",
        "timeInterval": MIN_INTERVAL,
    }
    secure: dict[str, str] = {}
    payload: dict[str, Any] = {
        "uid": DATASOURCE_UID,
        "name": DATASOURCE_NAME,
        "type": "influxdb",
        "access": "proxy",
        "url": url,
        "database": database,
        "jsonData": json_data,
        "secureJsonData": secure,
    }
    if history.token is not None:
        json_data["httpHeaderName1"] = "Authorization"
        secure["httpHeaderValue1"] = f"Token {history.token.get_secret_value()}"
    elif history.username:
        payload["user"] = history.username
        if history.password is not None:
            secure["password"] = history.password.get_secret_value()
    return payload


class GrafanaPush:
    """One connection to Grafana's HTTP API, turning its failures into the hub's errors."""

    def __init__(self, url: str, token: str, timeout: float = 10.0) -> None:
        self.url = check_url(url)
        self._api = GrafanaApi.from_url(url, credential=token, timeout=timeout)

    def push(
        self,
        dashboards: list[dict[str, Any]],
        datasource: dict[str, Any] | None,
        folder_uid: str = FOLDER_UID,
        folder_title: str = FOLDER_TITLE,
    ) -> PushResult:
        """Folder, then datasource, then each dashboard; every step overwrites by uid."""
        folder_created = self._call("folder", self._ensure_folder, folder_uid, folder_title)
        ds_state = "skipped"
        if datasource is not None:
            ds_state = self._call("datasource", self._upsert_datasource, datasource)
        pushed = []
        for board in dashboards:
            self._call(f"dashboard {board['uid']}", self._upsert_dashboard, board, folder_uid)
            pushed.append(str(board["uid"]))
        return PushResult(bool(folder_created), str(ds_state), tuple(pushed))

    def _ensure_folder(self, uid: str, title: str) -> bool:
        try:
            self._api.folder.get_folder(uid)
        except GrafanaClientError as exc:
            if exc.status_code != _NOT_FOUND:
                raise
            self._api.folder.create_folder(title, uid=uid)
            logger.info("created Grafana folder %s", uid)
            return True
        return False

    def _upsert_datasource(self, payload: dict[str, Any]) -> str:
        uid = str(payload["uid"])
        try:
            self._api.datasource.get_datasource_by_uid(uid)
        except GrafanaClientError as exc:
            if exc.status_code != _NOT_FOUND:
                raise
            self._api.datasource.create_datasource(payload)
            logger.info("created Grafana datasource %s", uid)
            return "created"
        self._api.datasource.update_datasource_by_uid(uid, payload)
        logger.info("updated Grafana datasource %s", uid)
        return "updated"

    def _upsert_dashboard(self, board: dict[str, Any], folder_uid: str) -> None:
        body = {
            "dashboard": {**board, "id": None},
            "folderUid": folder_uid,
            "overwrite": True,
            "message": "sitless dashboards push",
        }
        self._api.dashboard.update_dashboard(body)
        logger.info("pushed Grafana dashboard %s", board["uid"])

    def _call(self, what: str, func: Any, *args: Any) -> Any:
        where = safe_url(self.url)
        try:
            return func(*args)
        except GrafanaTimeoutError as exc:
            raise GrafanaUnreachableError(f"Grafana at {where} did not answer in time") from exc
        except GrafanaClientError as exc:
            if exc.status_code in _REFUSED:
                raise GrafanaRefusedError(
                    f"Grafana at {where} refused the token (HTTP {exc.status_code}) while "
                    f"writing the {what}; check that it is valid and has the Editor or "
                    "Admin role"
                ) from exc
            raise SitlessError(
                f"Grafana at {where} rejected the {what}: HTTP {exc.status_code} {exc.message}"
            ) from exc
        except GrafanaException as exc:
            if exc.status_code == 0:
                raise GrafanaUnreachableError(f"cannot reach Grafana at {where}") from exc
            raise SitlessError(
                f"Grafana at {where} failed on the {what}: HTTP {exc.status_code}"
            ) from exc
        except OSError as exc:  # refused connections and DNS failures (niquests: OSError)
            raise GrafanaUnreachableError(
                f"cannot reach Grafana at {where} ({type(exc).__name__})"
            ) from exc
        except ValueError as exc:  # a 2xx answer that is not JSON: not a Grafana API
            raise GrafanaUnreachableError(
                f"{where} answered, but not as Grafana's HTTP API"
            ) from exc
