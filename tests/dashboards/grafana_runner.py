"""Run a dashboard's queries the way Grafana would, against a real InfluxDB.

Grafana itself is not available where the tests run, so this does its part:
resolve the template variables by running their own ``SHOW TAG VALUES``
queries (every multi-value variable set to "All", or to a chosen value),
expand each panel query with ``hub.integrations.grafana.expand``, send it to InfluxDB's
``/query`` and return the series. The few data transformations the shipped
dashboards use (format time, group by, sort by, filter by value) are applied
as Grafana documents them, so a test can read what a panel would draw.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.integrations.grafana import expand
from tests.support.servers import Influxd

Frame = dict[str, list[Any]]
_GRAFANA_NAMES = {"time": "Time"}  # Grafana's name for InfluxDB's time column


class QueryFailedError(AssertionError):
    """InfluxDB refused a dashboard query, or it returned nothing."""


@dataclass(frozen=True)
class Series:
    name: str
    tags: dict[str, str]
    columns: list[str]
    values: list[list[Any]]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.values]

    def frame(self) -> Frame:
        return {name: self.column(name) for name in self.columns}


def run_influxql(influxd: Influxd, database: str, query: str) -> list[Series]:
    body = influxd.query(query, database, epoch="ms")
    if "error" in body:
        raise QueryFailedError(f"{body['error']}\n  query: {query}")
    out = []
    for result in body["results"]:
        if "error" in result:
            raise QueryFailedError(f"{result['error']}\n  query: {query}")
        out.extend(
            Series(s.get("name", ""), s.get("tags", {}), s["columns"], s["values"])
            for s in result.get("series", [])
        )
    return out


class DashboardRun:
    """One dashboard over one time range, with variables resolved as Grafana would."""

    def __init__(
        self,
        influxd: Influxd,
        database: str,
        board: dict[str, Any],
        time_range: expand.TimeRange,
        *,
        min_interval: str,
        chosen: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.influxd = influxd
        self.database = database
        self.board = board
        self.range = time_range
        self.min_interval = min_interval
        self.variables: dict[str, expand.Variable] = {}
        self.options: dict[str, list[str]] = {}
        for var in board["templating"]["list"]:
            if var["type"] == "textbox":  # a value typed in; its query is the default
                values = [var["query"]]
            else:
                query = expand.expand(var["query"], time_range, self.variables, 60_000)
                rows = run_influxql(influxd, database, query)
                values = sorted({row[1] for series in rows for row in series.values})
            self.options[var["name"]] = values
            picked = list((chosen or {}).get(var["name"], values))
            multi = bool(var.get("multi") or var.get("includeAll"))
            self.variables[var["name"]] = expand.Variable(tuple(picked), multi=multi)

    def panels(self) -> list[dict[str, Any]]:
        return list(self.board["panels"])

    def panel(self, title: str) -> dict[str, Any]:
        return next(p for p in self.board["panels"] if p["title"] == title)

    def query(self, panel: dict[str, Any], target: dict[str, Any]) -> tuple[str, list[Series]]:
        interval = expand.interval_ms(
            self.range,
            int(panel.get("maxDataPoints") or expand.DEFAULT_MAX_DATA_POINTS),
            panel.get("interval") or self.min_interval,
        )
        text = expand.expand(target["query"], self.range, self.variables, interval)
        series = run_influxql(self.influxd, self.database, text)
        if not series or not any(s.values for s in series):
            raise QueryFailedError(
                f"panel {panel['title']!r} ({target['refId']}) returned nothing\n  query: {text}"
            )
        return text, series

    def results(self, title: str) -> dict[str, list[Series]]:
        panel = self.panel(title)
        return {t["refId"]: self.query(panel, t)[1] for t in panel["targets"]}

    def single(self, title: str) -> Series:
        (series,) = self.results(title)["A"]
        return series

    def transformed(self, title: str) -> Frame:
        """Query A as one table (tags as columns, as Grafana's table format does), transformed."""
        frame = as_table(self.results(title)["A"])
        for step in self.panel(title).get("transformations", []):
            frame = TRANSFORMS.get(step["id"], _unchanged)(frame, step["options"])
        return frame


def as_table(series: list[Series]) -> Frame:
    """Series merged into one table: a column per tag, then the series' own columns."""
    tag_keys = sorted({key for one in series for key in one.tags})
    columns = [_GRAFANA_NAMES.get(c, c) for c in series[0].columns]
    frame: Frame = {name: [] for name in [*tag_keys, *columns]}
    for one in series:
        for row in one.values:
            for key in tag_keys:
                frame[key].append(one.tags.get(key, ""))
            for name, value in zip(columns, row, strict=True):
                frame[name].append(value)
    return frame


# --- the transformations the dashboards use ----------------------------------------------

_MOMENT = re.compile(r"HH|ddd|E")


def _moment(ms: int, pattern: str) -> str:
    """The subset of moment.js formatting the dashboards use, in UTC (the browser's zone here)."""
    when = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    tokens = {"HH": f"{when.hour:02d}", "ddd": when.strftime("%a"), "E": str(when.isoweekday())}
    return _MOMENT.sub(lambda m: tokens[m.group(0)], pattern)


def _format_time(frame: Frame, options: dict[str, Any]) -> Frame:
    field = options["timeField"]
    return {**frame, field: [_moment(v, options["outputFormat"]) for v in frame[field]]}


def _group_by(frame: Frame, options: dict[str, Any]) -> Frame:
    fields = options["fields"]
    (key,) = [name for name, conf in fields.items() if conf["operation"] == "groupby"]
    groups: dict[Any, list[int]] = {}
    for row, value in enumerate(frame[key]):
        groups.setdefault(value, []).append(row)
    out: Frame = {key: list(groups)}
    calcs: dict[str, Callable[[list[Any]], Any]] = {
        "mean": statistics.fmean,
        "max": max,
        "sum": sum,
    }
    for name, conf in fields.items():
        if conf["operation"] != "aggregate":
            continue
        for calc in conf["aggregations"]:
            out[f"{name} ({calc})"] = [
                calcs[calc]([frame[name][r] for r in rows if frame[name][r] is not None])
                for rows in groups.values()
            ]
    return out


def _sort_by(frame: Frame, options: dict[str, Any]) -> Frame:
    (rule,) = options["sort"]
    order = sorted(
        range(len(frame[rule["field"]])),
        key=lambda r: frame[rule["field"]][r],
        reverse=bool(rule.get("desc")),
    )
    return {name: [column[r] for r in order] for name, column in frame.items()}


def _filter_by_value(frame: Frame, options: dict[str, Any]) -> Frame:
    keep = list(range(len(next(iter(frame.values())))))
    for rule in options["filters"]:
        assert rule["config"]["id"] == "equal", "only 'equal' filters are emulated"
        column = frame[rule["fieldName"]]
        keep = [r for r in keep if column[r] == rule["config"]["options"]["value"]]
    if options["type"] == "exclude":
        keep = [r for r in range(len(next(iter(frame.values())))) if r not in keep]
    return {name: [column[r] for r in keep] for name, column in frame.items()}


def _unchanged(frame: Frame, _options: dict[str, Any]) -> Frame:
    return frame


TRANSFORMS: dict[str, Callable[[Frame, dict[str, Any]], Frame]] = {
    "formatTime": _format_time,
    "groupBy": _group_by,
    "sortBy": _sort_by,
    "filterByValue": _filter_by_value,
}
