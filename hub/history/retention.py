"""How long InfluxDB keeps what the hub writes, enforced by the database itself.

``sitless history init`` creates (or corrects) one retention policy per
database on an InfluxDB 1.x server and makes it the database's default, so
every point the hub writes there expires on the database's own schedule:

- the database that holds desk-level points (the main one under ``privacy =
  "desk"``, the personal one under ``"aggregate"``) keeps them for
  ``history.desk_retention`` (30 days by default);
- under ``"aggregate"`` the main database holds only zone aggregates and
  the hub's backlog samples, and keeps them for ``history.zone_retention``
  (2 years by default).

A point older than its policy is refused by the server when written and
removed by its retention check otherwise. For ``api = "v2"`` the same plan is
carried out on buckets through the v2 API (``hub.history.buckets``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

import urllib3

from hub.config import HistoryConfig
from hub.errors import ConfigError, HistoryError
from hub.history import buckets
from hub.history.sinks import auth_headers

DESK_POLICY: Final = "sitless_desk"
ZONE_POLICY: Final = "sitless_zones"
_HOUR: Final = 3600


@dataclass(frozen=True, slots=True)
class Policy:
    """One retention policy the hub wants on one database."""

    database: str
    name: str
    seconds: int

    @property
    def duration(self) -> str:
        """The policy's duration in InfluxQL (whole hours, at least one)."""
        return f"{max(1, self.seconds // _HOUR)}h"


def plan(history: HistoryConfig) -> list[Policy]:
    """The policies the configuration asks for, one per database."""
    if history.api != "v1" or not history.database:
        raise ConfigError(['history init needs api = "v1" with url and database, or "v2"'])
    desk_s, zone_s = int(history.desk_retention), int(history.zone_retention)
    if history.privacy == "desk":
        return [Policy(history.database, DESK_POLICY, desk_s)]
    out = [Policy(history.database, ZONE_POLICY, zone_s)]
    if history.personal_database:
        out.append(Policy(history.personal_database, DESK_POLICY, desk_s))
    return out


class V1Admin:
    """The few InfluxQL statements ``history init`` needs, over the server's ``/query``."""

    def __init__(self, history: HistoryConfig) -> None:
        self._base = (history.url or "").rstrip("/")
        self._headers = auth_headers(history)
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(10.0), retries=False)

    def query(self, statement: str, database: str | None = None) -> list[dict[str, object]]:
        """Run one statement; the results, or HistoryError with the server's reason."""
        params = {"q": statement, **({"db": database} if database else {})}
        try:
            resp = self._http.request(
                "POST", f"{self._base}/query?{urlencode(params)}", headers=self._headers
            )
        except urllib3.exceptions.HTTPError as exc:
            msg = f"cannot reach {self._base}: {type(exc).__name__}"
            raise HistoryError(msg) from exc
        try:
            body = json.loads(resp.data or b"{}")
        except ValueError:
            body = {}
        results = body.get("results", []) if isinstance(body, dict) else []
        errors = [str(r["error"]) for r in results if isinstance(r, dict) and "error" in r]
        if resp.status != 200 or errors or (isinstance(body, dict) and "error" in body):
            why = "; ".join(errors) or str(body.get("error", "")) or f"HTTP {resp.status}"
            msg = f"InfluxDB refused {statement.split(' ', 1)[0]}: {why}"
            raise HistoryError(msg)
        return [r for r in results if isinstance(r, dict)]

    def policies(self, database: str) -> dict[str, tuple[str, bool]]:
        """Existing policies of a database: name -> (duration, is default)."""
        results = self.query(f'SHOW RETENTION POLICIES ON "{database}"')
        out: dict[str, tuple[str, bool]] = {}
        for result in results:
            for series in result.get("series", []) or []:  # type: ignore[attr-defined]
                columns = series["columns"]
                for row in series["values"]:
                    item = dict(zip(columns, row, strict=False))
                    out[str(item["name"])] = (str(item["duration"]), bool(item["default"]))
        return out

    def close(self) -> None:
        """Drop pooled connections."""
        self._http.clear()


def _hours(duration: str) -> int:
    """InfluxDB's ``720h0m0s`` as whole hours (0 for infinite)."""
    return int(duration.split("h", 1)[0]) if "h" in duration else 0


def apply(history: HistoryConfig) -> list[str]:
    """Create the databases and policies the configuration asks for; one line per change."""
    if history.api == "v2":
        return buckets.apply(history)
    admin = V1Admin(history)
    done: list[str] = []
    try:
        for policy in plan(history):
            admin.query(f'CREATE DATABASE "{policy.database}"')
            have = admin.policies(policy.database)
            verb = "CREATE" if policy.name not in have else "ALTER"
            duration, default = have.get(policy.name, ("", False))
            if verb == "ALTER" and default and _hours(duration) == _hours(policy.duration):
                done.append(f"{policy.database}: {policy.name} already {policy.duration}")
                continue
            extra = " REPLICATION 1" if verb == "CREATE" else ""
            admin.query(
                f'{verb} RETENTION POLICY "{policy.name}" ON "{policy.database}" '
                f"DURATION {policy.duration}{extra} DEFAULT"
            )
            done.append(
                f"{policy.database}: {policy.name} {policy.duration} "
                f"({'created' if verb == 'CREATE' else 'changed'}, default)"
            )
    finally:
        admin.close()
    return done
