"""One day of one or all desks, summarised from the local store or from InfluxDB with InfluxQL.

Both sources answer the same questions from the same measurements (bouts from
``sitting_bout``, keyed by the bout's start; utilisation as the mean of
``desk_state.occupied``), so a report reads the same wherever the history lives.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any, Final
from urllib.parse import urlencode

import urllib3

from hub.config import HistoryConfig
from hub.errors import HistoryError
from hub.history.points import DESK_STATE, SITTING_BOUT
from hub.history.sinks import CONNECT_TIMEOUT_S, READ_TIMEOUT_S, auth_headers
from hub.history.spool import Spool

REPORT_MAX_BYTES: Final = 1 << 40
"""Reading never grows the spool; the cap only matters to writers."""
_BOUTS_SELECT: Final = (
    'SELECT count("duration_s") AS bouts, sum("duration_s") AS seated, '
    'max("duration_s") AS longest, sum("alerts") AS alerts, '
    'sum("snoozes") AS snoozes FROM "sitting_bout"'
)
_USAGE_SELECT: Final = 'SELECT mean("occupied") AS used FROM "desk_state"'


class ServerUnreachableError(HistoryError):
    """InfluxDB could not be asked; the report command turns this into exit code 3."""


@dataclass
class DeskDay:
    """What one desk's day looked like."""

    desk: str
    bouts: int = 0
    seated_s: float = 0.0
    longest_s: float = 0.0
    alerts: int = 0
    snoozes: int = 0
    utilisation: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values for JSON output."""
        return asdict(self)


def from_spool(spool: Spool, start_ms: int, end_ms: int, desk: str | None) -> list[DeskDay]:
    """Summarise the local store."""
    days: dict[str, DeskDay] = {}
    occupied: dict[str, list[int]] = defaultdict(list)
    for point in spool.read([SITTING_BOUT, DESK_STATE], start_ms, end_ms, desk):
        if point.desk is None:
            continue
        day = days.setdefault(point.desk, DeskDay(point.desk))
        if point.measurement == SITTING_BOUT:
            duration = float(point.fields.get("duration_s", 0.0))
            day.bouts += 1
            day.seated_s += duration
            day.longest_s = max(day.longest_s, duration)
            day.alerts += int(point.fields.get("alerts", 0))
            day.snoozes += int(point.fields.get("snoozes", 0))
        else:
            occupied[point.desk].append(int(point.fields.get("occupied", 0)))
    for name, values in occupied.items():
        days[name].utilisation = sum(values) / len(values)
    return [days[name] for name in sorted(days)]


def influxql_string(value: str) -> str:
    """A single-quoted InfluxQL string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def from_influx(
    history: HistoryConfig, start_ms: int, end_ms: int, desk: str | None
) -> list[DeskDay]:
    """Summarise from InfluxDB through the InfluxQL ``/query`` endpoint (1.x, 2.x DBRP, 3.x)."""
    database = _per_desk_database(history)
    where = f"time >= {start_ms}ms AND time < {end_ms}ms"
    if desk is not None:
        where += f' AND "desk" = {influxql_string(desk)}'
    bouts_q = f'{_BOUTS_SELECT} WHERE {where} GROUP BY "desk"'
    usage_q = f'{_USAGE_SELECT} WHERE {where} GROUP BY "desk"'
    days: dict[str, DeskDay] = {}
    for row in _query(history, database, bouts_q):
        day = days.setdefault(row["desk"], DeskDay(row["desk"]))
        day.bouts = int(row["bouts"] or 0)
        day.seated_s = float(row["seated"] or 0.0)
        day.longest_s = float(row["longest"] or 0.0)
        day.alerts = int(row["alerts"] or 0)
        day.snoozes = int(row["snoozes"] or 0)
    for row in _query(history, database, usage_q):
        days.setdefault(row["desk"], DeskDay(row["desk"])).utilisation = row["used"]
    return [days[name] for name in sorted(days)]


def _per_desk_database(history: HistoryConfig) -> str:
    """Where per-desk points live: the personal target under aggregate privacy."""
    if history.api == "v1":
        name = history.personal_database if history.privacy == "aggregate" else history.database
    else:
        name = history.personal_bucket if history.privacy == "aggregate" else history.bucket
    if not name:
        msg = (
            'per-desk history is not kept (privacy = "aggregate" and no personal '
            "database or bucket is configured)"
        )
        raise HistoryError(msg)
    return name


def _query(history: HistoryConfig, database: str, query: str) -> list[dict[str, Any]]:
    """Run one InfluxQL statement and flatten its series into rows with their tags."""
    headers = auth_headers(history)
    base = (history.url or "").rstrip("/")
    url = f"{base}/query?{urlencode({'db': database, 'q': query, 'epoch': 'ms'})}"
    http = urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_S, read=READ_TIMEOUT_S), retries=False
    )
    try:
        resp = http.request("GET", url, headers=headers)
    except urllib3.exceptions.HTTPError as exc:
        raise ServerUnreachableError(f"cannot reach {base}: {type(exc).__name__}") from exc
    text = resp.data.decode(errors="replace")
    if resp.status != 200:
        raise HistoryError(f"{base} answered HTTP {resp.status}: {text[:300]}")
    try:
        result = json.loads(text)["results"][0]
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise HistoryError(f"{base} sent an answer that is not an InfluxQL result") from exc
    if "error" in result:
        raise HistoryError(f"{base} refused the query: {result['error']}")
    rows: list[dict[str, Any]] = []
    for series in result.get("series", []):
        for values in series.get("values", []):
            row = dict(zip(series["columns"], values, strict=True))
            row.update(series.get("tags", {}))
            rows.append(row)
    return rows
