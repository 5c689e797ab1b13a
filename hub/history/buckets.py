"""Bucket retention on InfluxDB 2.x (and Cloud), set through the server's HTTP API.

``sitless history init`` with ``api = "v2"`` makes sure each bucket the hub
writes exists in the org and expires its points on the database's own
schedule, as the v1 retention policies do (``hub.history.retention``):

- the bucket that holds desk-level points (``bucket`` under ``privacy =
  "desk"``, ``personal_bucket`` under ``"aggregate"``) keeps them for
  ``history.desk_retention`` (30 days by default);
- under ``"aggregate"`` ``bucket`` holds only zone aggregates and the hub's
  backlog samples, kept for ``history.zone_retention`` (2 years).

It uses ``GET /api/v2/orgs``, ``GET /api/v2/buckets``, ``POST /api/v2/buckets``
and ``PATCH /api/v2/buckets/{id}`` with one ``expire`` retention rule. The token
must be allowed to read the org and to create and change its buckets (an
all-access or operator token: an administrator's, not the hub's own).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, urlencode

import urllib3

from hub.config import HistoryConfig
from hub.errors import ConfigError, HistoryError
from hub.history.sinks import auth_headers

_DAY: Final = 86400


@dataclass(frozen=True, slots=True)
class BucketRetention:
    """How long one bucket should keep its points."""

    bucket: str
    seconds: int

    @property
    def shown(self) -> str:
        """The duration for people: whole days, or hours below a day."""
        if self.seconds % _DAY == 0:
            return f"{self.seconds // _DAY}d"
        return f"{max(1, self.seconds // 3600)}h"


def plan(history: HistoryConfig) -> list[BucketRetention]:
    """The retention the configuration asks for, one per bucket."""
    if history.api != "v2" or not history.bucket or not history.org:
        raise ConfigError(['history init needs api = "v2" with url, org and bucket'])
    desk_s, zone_s = int(history.desk_retention), int(history.zone_retention)
    if history.privacy == "desk":
        return [BucketRetention(history.bucket, desk_s)]
    out = [BucketRetention(history.bucket, zone_s)]
    if history.personal_bucket:
        out.append(BucketRetention(history.personal_bucket, desk_s))
    return out


class V2Admin:
    """The few calls of the InfluxDB 2.x API that ``history init`` needs."""

    def __init__(self, history: HistoryConfig) -> None:
        self._base = (history.url or "").rstrip("/")
        self._headers = {**auth_headers(history), "Content-Type": "application/json"}
        self._http = urllib3.PoolManager(timeout=urllib3.Timeout(10.0), retries=False)

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """One request; the decoded answer, or HistoryError with the server's reason."""
        data = None if body is None else json.dumps(body).encode()
        try:
            resp = self._http.request(
                method, f"{self._base}{path}", body=data, headers=self._headers
            )
        except urllib3.exceptions.HTTPError as exc:
            msg = f"cannot reach {self._base}: {type(exc).__name__}"
            raise HistoryError(msg) from exc
        try:
            answer = json.loads(resp.data or b"{}")
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if resp.status >= 300:
            why = str(answer.get("message") or f"HTTP {resp.status}")
            msg = f"InfluxDB refused {method} {path.split('?', 1)[0]}: {why} (HTTP {resp.status})"
            raise HistoryError(msg)
        return answer

    def org_id(self, org: str) -> str:
        """The id of the org named ``org``."""
        orgs = self.call("GET", f"/api/v2/orgs?{urlencode({'org': org})}").get("orgs") or []
        for item in orgs:
            if isinstance(item, dict) and item.get("name") == org:
                return str(item["id"])
        msg = f"InfluxDB has no org {org!r} that this token can read"
        raise HistoryError(msg)

    def bucket(self, org_id: str, name: str) -> dict[str, Any] | None:
        """The bucket named ``name`` in the org, if there is one."""
        query = urlencode({"orgID": org_id, "name": name})
        for item in self.call("GET", f"/api/v2/buckets?{query}").get("buckets") or []:
            if isinstance(item, dict) and item.get("name") == name:
                return item
        return None

    def close(self) -> None:
        """Drop pooled connections."""
        self._http.clear()


def _expiry(bucket: dict[str, Any]) -> int:
    """A bucket's expire rule in seconds (0: kept for ever)."""
    for rule in bucket.get("retentionRules") or []:
        if isinstance(rule, dict) and rule.get("type", "expire") == "expire":
            return int(rule.get("everySeconds") or 0)
    return 0


def apply(history: HistoryConfig) -> list[str]:
    """Create missing buckets and set every bucket's retention; one line per bucket."""
    wanted = plan(history)
    admin = V2Admin(history)
    done: list[str] = []
    try:
        org_id = admin.org_id(history.org or "")
        for want in wanted:
            rules = [{"type": "expire", "everySeconds": want.seconds}]
            have = admin.bucket(org_id, want.bucket)
            if have is None:
                body = {"orgID": org_id, "name": want.bucket, "retentionRules": rules}
                admin.call("POST", "/api/v2/buckets", body)
                done.append(f"{want.bucket}: {want.shown} (created)")
            elif _expiry(have) == want.seconds:
                done.append(f"{want.bucket}: already {want.shown}")
            else:
                path = f"/api/v2/buckets/{quote(str(have['id']), safe='')}"
                admin.call("PATCH", path, {"retentionRules": rules})
                done.append(f"{want.bucket}: {want.shown} (changed)")
    finally:
        admin.close()
    return done
